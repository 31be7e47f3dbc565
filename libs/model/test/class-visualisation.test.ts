import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { EmotionModel } from '../src/emotion-model';
import { DEFAULT_MODEL_DIR } from '../src/paths';
import { DifferentiableBackbone } from '../src/explain/differentiable-backbone';
import { visualiseEmotion } from '../src/explain/class-visualisation';

// Each step is a forward and backward pass of MobileNetV2-1.4 on the wasm backend (~0.7 s of CPU with the fast
// input gradients of wasm-input-gradients.ts); the acceptance figures come from the shipped 500-step run.
const STEPS = 3;

test(`class visualisation: ${STEPS} steps make the target the image branch's top emotion, raise its score by > 0.5, and repeat exactly under a seed`, async () => {
  await initBackend({ prefer: 'wasm' });
  const model = await EmotionModel.load(DEFAULT_MODEL_DIR, { warmUp: false });
  const backbone = await DifferentiableBackbone.load(model.backboneId);
  try {
    const emotion = 'scared';
    const k = EMOTIONS.indexOf(emotion);
    const snapshots: number[] = [];
    const a = await visualiseEmotion(model, backbone, { emotion, steps: STEPS, seed: 11, snapshotEvery: 1, onSnapshot: async (v) => void snapshots.push(v.steps) });
    assert.deepEqual(snapshots, [1, 2], 'a snapshot after each step but the last (the result itself)');
    assert.equal(a.steps, STEPS);
    assert.notEqual(EMOTIONS[a.startLogits.indexOf(Math.max(...a.startLogits))], emotion, 'the random start is not already scared');
    assert.equal(a.topEmotion, emotion);
    const rise = a.finalLogits[k]! - a.startLogits[k]!;
    assert.ok(rise > 0.5, `unnormalised score ${a.startLogits[k]} → ${a.finalLogits[k]} (rise ${rise})`);
    assert.equal(a.pixels.length, a.size * a.size * 3);
    // A step whose jitter rounds to (0, 0) rolls nothing; it once disposed the image it was climbing (run died at step 61).
    const still = await visualiseEmotion(model, backbone, { emotion, steps: 1, seed: 11, jitter: 0 });
    assert.equal(still.steps, 1);
    const b = await visualiseEmotion(model, backbone, { emotion, steps: STEPS, seed: 11 });
    assert.deepEqual(b.finalLogits, a.finalLogits);
    assert.ok(Buffer.from(b.pixels).equals(Buffer.from(a.pixels)), 'same seed, same image');
  } finally {
    backbone.dispose();
    model.dispose();
  }
});
