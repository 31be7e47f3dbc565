import { Vocabulary } from '../src/text/vocabulary';
import { gaussian, makeRng } from '../src/train/rng';

/** A small vocabulary with seeded random vectors (tests never load the 300 MB GloVe JSON). */
export function tinyVocabulary(words: readonly string[], dim = 8, seed = 7): Vocabulary {
  const all = ['<pad>', '<unk>', ...words];
  const rng = makeRng(seed);
  const vectors = new Float32Array(all.length * dim);
  for (let i = dim; i < vectors.length; i++) vectors[i] = 0.5 * gaussian(rng);
  return new Vocabulary(all, dim, vectors);
}

/** A small EmotionModel with seeded random weights in every layer (averaging, distillation and runtime tests). */
export async function tinyRandomModel(seed: number, network: Partial<import('../src/network').NetworkConfig> = {}, bowFeatures = ['i', 'love', 'this', 'i love', 'storm', 'so scared']): Promise<import('../src/emotion-model').EmotionModel> {
  const tf = await import('@tensorflow/tfjs');
  const { EMOTIONS } = await import('@moodstream/events');
  const { buildNetwork } = await import('../src/network');
  const { BagOfWords } = await import('../src/text/bag-of-words');
  const { EmotionModel } = await import('../src/emotion-model');
  const { MODEL_FORMAT } = await import('../src/model-config');
  const vocab = tinyVocabulary(['i', 'love', 'hate', 'this', 'storm', 'so', 'scared', 'happy', 'day', 'wow'], 8);
  const bow = new BagOfWords(bowFeatures);
  const c = { embeddingDim: 8, lstmUnits: 6, bidirectional: false, bowSize: bow.size, bowUnits: 5, imageFeatureDim: 12, imageUnits: 7, fusionUnits: 9, dropout: 0.5, bowDropout: 0.5, textDropout: 0.3, classes: EMOTIONS.length, seed: 3, imageSkipHead: false, imageOnlyReadout: false, ...network };
  const net = buildNetwork(c);
  let s = seed;
  for (const layer of net.layers) layer.setWeights(layer.getWeights().map((w) => tf.randomNormal(w.shape, 0, 0.5, 'float32', s++)));
  return new EmotionModel(
    {
      format: MODEL_FORMAT,
      version: `tiny-${seed}`,
      labels: [...EMOTIONS],
      backboneId: 'mobilenet_v2_mid',
      featureDim: c.imageFeatureDim,
      preprocessing: { maxLen: 5, lowercase: true, emotionHashtagsRemoved: [], emojiAsTokens: true, emoticonsAsTokens: true, image: { inputSize: 224, resize: 'shorter side to inputSize, centre crop', scale: 'RGB / 255' } },
      network: c,
      calibration: { method: 'temperature', temperature: 1.3, fittedOn: 'test', textLogitBias: [0.1, -0.2, 0, 0.3, 0, -0.1], imageTemperature: 0.9, bothTemperature: 1.7 },
    },
    net,
    vocab,
    bow,
  );
}
