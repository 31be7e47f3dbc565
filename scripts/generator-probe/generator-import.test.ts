/**
 * The generator importer against Keras itself: fixture/export.bin is a tiny random model written by
 * `train.py fixture` (Keras 3 on TensorFlow 2.18) with Keras's next-word logits of three texts (one with an image).
 * Imported onto lm-network.ts's network and saved by saveGenerator, the plain-JS sampler (PostGenerator) and the tfjs
 * network must both give those logits. Run: node --import tsx --test scripts/generator-probe/generator-import.test.ts
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EMOTIONS } from '@moodstream/events';
import { initBackend, PostGenerator } from '@moodstream/model';
import { GENERATOR_FORMAT } from '../../libs/model/src/generate/generator-config';
import { batchTensors } from '../../libs/model/src/generate/train-language-model';
import { disposeLanguageModel, lmLogits } from '../../libs/model/src/generate/lm-network';
import { saveGenerator } from '../../libs/model/src/generate/post-generator';
import { importGeneratorExport, readGeneratorExport, type GeneratorExport } from './generator-export';
import { checkSampler } from './sampler-check';

const FIXTURE = path.join(import.meta.dirname, 'fixture', 'export.bin');

before(async () => {
  await initBackend({ prefer: 'cpu' });
});

/** Saves an export's weights as a generator folder and loads its sampler. */
async function sampler(exp: GeneratorExport, dir: string): Promise<PostGenerator> {
  const { model, words, vectors } = importGeneratorExport(exp);
  await saveGenerator(dir, model, words, vectors, { format: GENERATOR_FORMAT, version: 'fixture', backboneId: exp.header.backboneId, conditioned: true, shape: exp.header.shape, training: {} });
  disposeLanguageModel(model);
  return PostGenerator.load(dir);
}

test("the sampler and the tfjs network reproduce Keras's next-word logits of the fixture", async () => {
  const exp = readGeneratorExport(readFileSync(FIXTURE));
  assert.equal(exp.header.checks.length, 3);
  assert.ok(exp.header.checks.some((c) => c.hasImage), 'one check text has an image');
  const dir = await mkdtemp(path.join(tmpdir(), 'moodstream-generator-import-'));
  try {
    const check = checkSampler(await sampler(exp, dir), exp);
    // The fixture's vectors lie on vocab.bin's int8 grid, so the saved folder holds exactly what Keras read.
    assert.equal(check.positions, exp.header.checks.reduce((s, c) => s + c.ids.length + 1, 0));
    assert.ok(check.maxAbsDiff < 1e-5, `sampler vs Keras max |d logit| ${check.maxAbsDiff}`);
    assert.equal(check.argmaxAgree, check.positions);

    // The tfjs network, fed the export's float vectors directly, agrees to float precision.
    const { model, vectors } = importGeneratorExport(exp);
    const s = exp.header.shape;
    const V = s.vocabSize;
    const vectorsTensor = tf.tensor2d(vectors, [V, s.embeddingDim]);
    exp.header.checks.forEach((c, k) => {
      const image = c.hasImage ? Float32Array.from(exp.tensor(`check/${k}/image`)) : null;
      const got = tf.tidy(() => {
        const t = batchTensors([{ ids: c.ids, label: c.label, image }], { shape: s, conditioned: true }, vectorsTensor);
        return lmLogits(model, t.inputs, false).dataSync() as Float32Array;
      });
      const reference = exp.tensor(`check/${k}/logits`);
      for (let i = 0; i < reference.length; i++) assert.ok(Math.abs(got[i]! - reference[i]!) < 1e-5, `text ${k} logit ${i}: tfjs ${got[i]} vs Keras ${reference[i]}`);
    });
    vectorsTensor.dispose();
    disposeLanguageModel(model);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a wrong gate order or a missing condition shows in the check', async () => {
  const exp = readGeneratorExport(readFileSync(FIXTURE));
  const H = exp.header.shape.lstmUnits;
  const dir = await mkdtemp(path.join(tmpdir(), 'moodstream-generator-import-'));
  try {
    // Input and forget gate blocks swapped in the LSTM kernel (Keras order i, f, c, o read as f, i, c, o).
    const kernel = exp.tensor('gen_lstm/0');
    const original = Float32Array.from(kernel);
    for (let r = 0; r < kernel.length / (4 * H); r++) {
      for (let j = 0; j < H; j++) [kernel[r * 4 * H + j], kernel[r * 4 * H + H + j]] = [kernel[r * 4 * H + H + j]!, kernel[r * 4 * H + j]!];
    }
    assert.ok(checkSampler(await sampler(exp, dir), exp).maxAbsDiff > 0.1, 'swapped gates must be caught');
    kernel.set(original);
    // The emotion ignored: every check text scored as if it were another emotion.
    const shifted = { ...exp, header: { ...exp.header, checks: exp.header.checks.map((c) => ({ ...c, label: (c.label + 1) % EMOTIONS.length })) } };
    assert.ok(checkSampler(await sampler(exp, dir), shifted).maxAbsDiff > 0.1, 'the emotion must change the logits');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('files that are not a generator-probe export are refused', () => {
  assert.throws(() => readGeneratorExport(Buffer.from('not an export at all')), /MSGENER1/);
  const buf = readFileSync(FIXTURE);
  const bad = Buffer.from(buf);
  bad.writeUInt32LE(buf.length, 8);
  assert.throws(() => readGeneratorExport(bad), /header says/);
});
