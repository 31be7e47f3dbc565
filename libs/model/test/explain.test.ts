import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { EmotionModel } from '../src/emotion-model';
import { DEFAULT_MODEL_DIR } from '../src/paths';
import { explainText, centredLogProbabilities } from '../src/explain/integrated-gradients';
import { explainPost } from '../src/explain/post-explanation';

const TEXTS = ['I am so scared of the storm tonight, terrifying', 'this is disgusting and I hate it', 'wow I did not expect that at all!', 'thank you so much, this made my day :)'];

test('integrated gradients: per-word contributions sum to score − baseline score (completeness, within 0.02 + 1%)', async () => {
  await initBackend({ prefer: 'wasm' });
  const model = await EmotionModel.load(DEFAULT_MODEL_DIR, { warmUp: false });
  try {
    for (const text of TEXTS) {
      const e = await explainText(model, text, { steps: 32 });
      const delta = e.score - e.baselineScore;
      const sum = e.words.reduce((s, w) => s + w.contribution, 0);
      assert.ok(Math.abs(delta) > 0.5, `${text}: the text moves its top emotion (Δ ${delta})`);
      assert.ok(Math.abs(sum - delta) <= 0.02 + 0.01 * Math.abs(delta), `${text}: Σ ${sum} vs Δ ${delta}`);
      assert.equal(e.completenessGap, sum - delta);
      // The explained emotion is the text branch's top emotion, and the probabilities are the model's own.
      const [p] = await model.predict([{ text }]);
      assert.equal(e.emotion, EMOTIONS[p!.probabilities.indexOf(Math.max(...p!.probabilities))]);
      p!.probabilities.forEach((v, i) => assert.ok(Math.abs(v - e.textProbabilities[i]!) < 1e-5));
    }
    const scared = await explainText(model, TEXTS[0]!, { steps: 32 });
    const best = [...scared.words].sort((a, b) => b.contribution - a.contribution)[0]!;
    assert.ok(['scared', 'terrifying'].includes(best.token), `the strongest word for ${scared.emotion} is ${best.token}`);
  } finally {
    model.dispose();
  }
});

test('the image share: text part + image part = the stored score minus the baseline; 0 for text posts, 1 for image posts', async () => {
  await initBackend({ prefer: 'wasm' });
  const model = await EmotionModel.load(DEFAULT_MODEL_DIR, { warmUp: false });
  try {
    const text = TEXTS[1]!;
    const textOnly = await explainPost(model, { text, modality: 'text' }, { steps: 16 });
    assert.equal(textOnly.imageShare, 0);
    assert.equal(textOnly.imagePart, 0);
    // A stored 'both' score that leans harder towards the same emotion than the text alone: the image pushed it.
    const stored = textOnly.textProbabilities.map((p, i) => (EMOTIONS[i] === textOnly.emotion ? p + 0.5 * (1 - p) : p * 0.5));
    const both = await explainPost(model, { text, modality: 'both', probabilities: stored, explicit: 0.1 }, { steps: 16 });
    const k = EMOTIONS.indexOf(both.emotion);
    assert.ok(both.imagePart > 0);
    assert.ok(Math.abs(both.imagePart - (centredLogProbabilities(stored)[k]! - centredLogProbabilities(both.textProbabilities)[k]!)) < 1e-9);
    assert.ok(Math.abs(both.imageShare - Math.abs(both.imagePart) / (Math.abs(both.imagePart) + Math.abs(both.textPart))) < 1e-12);
    assert.equal(both.explicit, 0.1);
    const imageOnly = await explainPost(model, { text: '', modality: 'image', probabilities: stored }, { steps: 4 });
    assert.equal(imageOnly.imageShare, 1);
    assert.deepEqual(imageOnly.words, []);
  } finally {
    model.dispose();
  }
});
