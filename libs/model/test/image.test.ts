import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { preprocessImage } from '../src/image/preprocess';
import { ImageBackbone } from '../src/image/backbone';
import { initBackend } from '../src/backend';
import { MoodstreamError } from '@moodstream/core';

/** A 2:1 image: red left quarter, green middle half, blue right quarter. */
async function bandedPng(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (x < width / 4) raw[o] = 255;
      else if (x < (3 * width) / 4) raw[o + 1] = 255;
      else raw[o + 2] = 255;
    }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

test('preprocessImage resizes the shorter side and centre-crops to RGB inputSize²', async () => {
  const pixels = await preprocessImage(await bandedPng(200, 100), 32);
  assert.equal(pixels.length, 32 * 32 * 3);
  // The centre crop of a 2:1 image keeps only the green middle half.
  for (const x of [0, 16, 31]) {
    const o = (16 * 32 + x) * 3;
    assert.ok(pixels[o + 1]! > 200 && pixels[o]! < 40 && pixels[o + 2]! < 40, `pixel at x=${x} is green`);
  }
});

test('greyscale and alpha images come out as 3-channel RGB', async () => {
  const grey = await sharp({ create: { width: 40, height: 60, channels: 4, background: { r: 10, g: 10, b: 10, alpha: 0.5 } } }).png().toBuffer();
  const pixels = await preprocessImage(grey, 16);
  assert.equal(pixels.length, 16 * 16 * 3);
});

test('non-images and pixel bombs raise IMAGE_DECODE_FAILED (not retriable)', async () => {
  for (const bytes of [Buffer.from('<html>not an image</html>'), Buffer.alloc(0)]) {
    await assert.rejects(preprocessImage(bytes, 32), (e: unknown) => e instanceof MoodstreamError && e.code === 'IMAGE_DECODE_FAILED' && !e.retriable);
  }
  const big = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#fff' } }).png().toBuffer();
  await assert.rejects(preprocessImage(big, 32, { limitInputPixels: 1_000_000 }), (e: unknown) => e instanceof MoodstreamError && e.code === 'IMAGE_DECODE_FAILED');
});

test('the MobileNetV2-1.4 backbone loads from local package files and embeds a generated image', async () => {
  await initBackend({ prefer: 'wasm' });
  const backbone = await ImageBackbone.load({ id: 'mobilenet_v2_mid' });
  try {
    assert.equal(backbone.featureDim, 1792);
    assert.equal(backbone.inputSize, 224);
    const a = await preprocessImage(await bandedPng(300, 200), backbone.inputSize);
    const b = await preprocessImage(await sharp({ create: { width: 224, height: 224, channels: 3, background: '#3366cc' } }).jpeg().toBuffer(), 224);
    const before = tf.memory().numTensors;
    const { features, explicit } = await backbone.embed([a, b]);
    assert.equal(tf.memory().numTensors, before, 'embed leaks no tensors');
    assert.equal(features.length, 2);
    assert.equal(features[0]!.length, 1792);
    assert.ok(features[0]!.some((v) => v !== 0));
    assert.notDeepEqual(Array.from(features[0]!.slice(0, 50)), Array.from(features[1]!.slice(0, 50)), 'different images, different features');
    for (const e of explicit) assert.ok(e >= 0 && e <= 1);
  } finally {
    backbone.dispose();
  }
});
