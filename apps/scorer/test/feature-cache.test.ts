import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeatureCache } from '../src/feature-cache';

const features = (value: number) => ({ features: new Float32Array([value, value]), explicit: value / 10 });

test('evicts the least recently used image, and a capacity of 0 caches nothing', () => {
  const cache = new FeatureCache(2);
  cache.store('a', 'ha', features(1));
  cache.store('b', 'hb', features(2));
  assert.equal(cache.lookupUrl('a')?.explicit, 0.1);
  cache.store('c', 'hc', features(3));
  assert.equal(cache.lookupUrl('b'), undefined, 'b was the least recently used');
  assert.equal(cache.lookupUrl('a')?.explicit, 0.1);
  assert.equal(cache.lookupUrl('c')?.explicit, 0.3);
  assert.equal(cache.stats().entries, 2);
  const disabled = new FeatureCache(0);
  disabled.store('a', 'ha', features(1));
  assert.equal(disabled.lookupUrl('a'), undefined);
  assert.equal(disabled.lookupHash('ha', 'a'), undefined);
  assert.deepEqual(disabled.stats(), { urlHits: 0, hashHits: 0, misses: 1, entries: 0, hitRate: 0 });
});

test('hits by URL, then by content hash for a new URL of the same bytes, and reports the hit rate', () => {
  const cache = new FeatureCache(10);
  assert.equal(cache.lookupUrl('http://a/1.jpg'), undefined);
  assert.equal(cache.lookupHash('h1', 'http://a/1.jpg'), undefined);
  cache.store('http://a/1.jpg', 'h1', features(1));
  assert.equal(cache.lookupUrl('http://a/1.jpg')?.explicit, 0.1);
  assert.equal(cache.lookupUrl('http://b/copy.jpg'), undefined);
  assert.equal(cache.lookupHash('h1', 'http://b/copy.jpg')?.explicit, 0.1);
  // The copy's URL was learnt from the hash hit.
  assert.equal(cache.lookupUrl('http://b/copy.jpg')?.explicit, 0.1);
  assert.deepEqual(cache.stats(), { urlHits: 2, hashHits: 1, misses: 1, entries: 1, hitRate: 0.75 });
});

test('stays within its capacity', () => {
  const cache = new FeatureCache(3);
  for (let i = 0; i < 10; i++) cache.store(`u${i}`, `h${i}`, features(i));
  assert.equal(cache.stats().entries, 3);
  assert.equal(cache.lookupUrl('u0'), undefined);
  assert.equal(cache.lookupUrl('u9')?.explicit, 0.9);
});
