import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { MoodstreamError } from '@moodstream/core';
import { initBackend } from '../src/backend';
import { EmotionScorer } from '../src/emotion-scorer';
import { ImageBackbone, backboneOnnxFile, type BackboneRuntimeInfo } from '../src/image/backbone';
import { preprocessImage } from '../src/image/preprocess';
import { cosineSimilarity as cosine } from '../src/image/feature-similarity';

/**
 * The ONNX export of the backbone (models/backbone, npm run model:export-backbone) against the tfjs graph
 * it was converted from, on images made here: photos-like noise, gradients, shapes, flat colours.
 */
async function generatedImages(): Promise<Buffer[]> {
  const images: Buffer[] = [];
  for (let n = 0; n < 6; n++) {
    // Low-resolution noise scaled up: smooth, photo-like blotches, different per n.
    const raw = Buffer.alloc(24 * 16 * 3);
    let seed = 1 + n * 7919;
    for (let i = 0; i < raw.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      raw[i] = seed >>> 24;
    }
    images.push(await sharp(raw, { raw: { width: 24, height: 16, channels: 3 } }).resize(480, 320).jpeg({ quality: 80 }).toBuffer());
  }
  for (let n = 0; n < 4; n++) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">
      <defs><linearGradient id="g"><stop offset="0" stop-color="hsl(${n * 90},80%,50%)"/><stop offset="1" stop-color="hsl(${n * 90 + 140},70%,30%)"/></linearGradient></defs>
      <rect width="400" height="300" fill="url(#g)"/>
      <circle cx="${100 + n * 50}" cy="150" r="${40 + n * 15}" fill="#f4d03f"/>
      <rect x="${250 - n * 30}" y="60" width="90" height="140" fill="#1b2631" transform="rotate(${n * 12} 200 150)"/>
    </svg>`;
    images.push(await sharp(Buffer.from(svg)).png().toBuffer());
  }
  images.push(await sharp({ create: { width: 224, height: 224, channels: 3, background: '#ffffff' } }).png().toBuffer());
  images.push(await sharp({ create: { width: 300, height: 500, channels: 3, background: '#202020' } }).jpeg().toBuffer());
  return images;
}

let pixels: Uint8Array[];
let onnx: ImageBackbone;
let tfjs: ImageBackbone;

before(async () => {
  await initBackend({ prefer: 'wasm' });
  pixels = await Promise.all((await generatedImages()).map((bytes) => preprocessImage(bytes, 224)));
  onnx = await ImageBackbone.load({ id: 'mobilenet_v2_mid', runtime: 'onnx' });
  tfjs = await ImageBackbone.load({ id: 'mobilenet_v2_mid', runtime: 'tfjs' });
});
after(() => {
  onnx?.dispose();
  tfjs?.dispose();
});

test('the ONNX float backbone gives the tfjs features (cosine ≥ 0.9999) and explicit scores on generated images', async () => {
  assert.equal(onnx.runtime.runtime, 'onnx');
  assert.equal(tfjs.runtime.runtime, 'tfjs');
  const a = await onnx.embed(pixels);
  const b = await tfjs.embed(pixels);
  assert.equal(a.features.length, pixels.length);
  let worst = 1;
  pixels.forEach((_, i) => {
    assert.equal(a.features[i]!.length, 1792);
    const c = cosine(a.features[i]!, b.features[i]!);
    worst = Math.min(worst, c);
    assert.ok(c >= 0.9999, `image ${i}: cosine ${c}`);
    assert.ok(Math.abs(a.explicit[i]! - b.explicit[i]!) <= 1e-4, `image ${i}: explicit ${a.explicit[i]} vs ${b.explicit[i]}`);
  });
  // The images differ, and so do their features: equality above is not the trivial kind.
  assert.ok(cosine(a.features[0]!, a.features[7]!) < 0.99, 'different images give different features');
  assert.ok(worst >= 0.9999);
});

test('one image at a time gives the same features as the batch (no cross-talk between batch rows)', async () => {
  const batch = await onnx.embed(pixels.slice(0, 3));
  for (let i = 0; i < 3; i++) {
    const single = await onnx.embed([pixels[i]!]);
    assert.ok(cosine(single.features[0]!, batch.features[i]!) > 0.99999);
  }
});

test("'auto' takes ONNX Runtime when it loads and the file is there, says why, and falls back to tfjs when not", async () => {
  const logged: Record<string, unknown>[] = [];
  const log = (_message: string, fields: Record<string, unknown>): void => void logged.push(fields);
  const auto = await ImageBackbone.load({ log });
  auto.dispose();
  assert.equal(auto.runtime.runtime, 'onnx');
  assert.match(auto.runtime.detail, /onnxruntime-node cpu, 1 intra-op thread/);

  const missingPackage = await ImageBackbone.load({ log, importModule: () => Promise.reject(new Error("Cannot find package 'onnxruntime-node'")) });
  missingPackage.dispose();
  assert.deepEqual(
    { runtime: missingPackage.runtime.runtime, reason: missingPackage.runtime.reason },
    { runtime: 'tfjs', reason: "ONNX Runtime unavailable: Cannot find package 'onnxruntime-node'" },
  );
  const missingFile = await ImageBackbone.load({ log, onnxFile: '/nonexistent/backbone.onnx' });
  missingFile.dispose();
  assert.equal(missingFile.runtime.runtime, 'tfjs');
  assert.match(missingFile.runtime.reason, /no exported backbone at \/nonexistent\/backbone\.onnx/);
  assert.deepEqual(
    logged.map((f) => f['runtime']),
    ['onnx', 'tfjs', 'tfjs'],
    'one log line per load, naming the runtime',
  );
});

test("'onnx' refuses to start without ONNX Runtime or its file (MODEL_RUNTIME_UNAVAILABLE), naming the reason", async () => {
  await assert.rejects(
    ImageBackbone.load({ runtime: 'onnx', onnxFile: '/nonexistent/backbone.onnx' }),
    (e: unknown) => e instanceof MoodstreamError && e.code === 'MODEL_RUNTIME_UNAVAILABLE' && /nonexistent/.test(e.message),
  );
  assert.equal(backboneOnnxFile('mobilenet_v2_mid').endsWith('models/backbone/mobilenet_v2_mid.onnx'), true);
});

test('the scorer forced onto tfjs predicts what it predicts on ONNX Runtime (the fallback is the same model)', async () => {
  const runtimes: BackboneRuntimeInfo[] = [];
  const scores = [];
  for (const runtime of ['auto', 'tfjs'] as const) {
    const scorer = await EmotionScorer.load({ backbone: { runtime }, warmUp: false });
    try {
      runtimes.push(scorer.backboneRuntime!);
      const embedded = await scorer.embed(pixels);
      scores.push(await scorer.score(embedded.map((e, i) => ({ text: i % 2 === 0 ? '' : 'what a day', imageFeatures: e.features }))));
    } finally {
      scorer.dispose();
    }
  }
  assert.deepEqual(runtimes.map((r) => r.runtime), ['onnx', 'tfjs']);
  const [viaOnnx, viaTfjs] = scores as [Awaited<ReturnType<EmotionScorer['score']>>, Awaited<ReturnType<EmotionScorer['score']>>];
  viaOnnx.forEach((s, i) => {
    assert.equal(s.topEmotion, viaTfjs[i]!.topEmotion, `post ${i}`);
    s.probabilities.forEach((p, k) => assert.ok(Math.abs(p - viaTfjs[i]!.probabilities[k]!) < 1e-4, `post ${i} class ${k}: ${p} vs ${viaTfjs[i]!.probabilities[k]}`));
  });
});
