import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessEngine } from '../src/inference/in-process-engine';
import { loadModels } from '../src/inference/load-models';
import type { LoadedModels } from '../src/inference/run-inference';

let models: LoadedModels;
let engine: InProcessEngine;
before(async () => {
  models = await loadModels(process.env['SCORER_MODEL_DIR'] ?? '');
  engine = new InProcessEngine(models, false);
});
after(() => {
  models.scorer.dispose();
});

function pixels(seed: number): Uint8Array {
  const size = engine.info.inputSize;
  const image = new Uint8Array(size * size * 3);
  for (let i = 0; i < image.length; i++) image[i] = (i * 31 + seed * 97) & 0xff;
  return image;
}

test('embeds new images, reuses given features, scores every item, and leaks no tensors', async () => {
  const first = await engine.run({
    items: [
      { text: 'what a storm tonight', image: { kind: 'pixels', index: 0 } },
      { text: 'so happy', image: null },
      { text: '', image: { kind: 'pixels', index: 1 } },
    ],
    pixels: [pixels(1), pixels(2)],
  });
  assert.equal(first.embedded.length, 2);
  assert.equal(first.embedded[0]?.features.length, models.scorer.featureDim);
  assert.deepEqual(
    first.scores.map((p) => p.modality),
    ['both', 'text', 'image'],
  );
  const features = first.embedded[0]!.features;
  const [tensorsBefore] = await engine.tensorCounts();
  for (let i = 0; i < 10; i++) {
    const result = await engine.run({
      items: [
        { text: `cached image ${i}`, image: { kind: 'features', features } },
        { text: `fresh image ${i}`, image: { kind: 'pixels', index: 0 } },
        ...Array.from({ length: 40 }, (_, k) => ({ text: `${'word '.repeat(k % 30)}${i}`, image: null })),
      ],
      pixels: [pixels(i + 3)],
    });
    assert.equal(result.scores.length, 42);
  }
  const [tensorsAfter] = await engine.tensorCounts();
  assert.equal(tensorsAfter, tensorsBefore, 'tensor count is constant across batches');
});

test('SCORER_BACKBONE_FILE reaches the backbone: another export is opened, a missing one refused under runtime onnx', async () => {
  const options = { runtime: 'onnx' as const, networkRuntime: 'tfjs' as const, onnxThreads: 1, onnxProviders: ['cpu'] };
  await assert.rejects(loadModels(process.env['SCORER_MODEL_DIR'] ?? '', { ...options, onnxFile: '/nonexistent/backbone.int8.onnx' }), /backbone\.int8\.onnx/);
  const shipped = models.scorer.backboneRuntime;
  assert.equal(shipped?.runtime, 'onnx');
  assert.match(shipped?.detail ?? '', /mobilenet_v2_mid\.onnx/, 'without a file, the shipped export');
});
