import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeatureCache } from '../src/feature-cache';
import { LruMap } from '../src/lru-map';

const features = (value: number) => ({ features: new Float32Array([value, value]), explicit: value / 10 });

test('LruMap evicts the least recently used entry', () => {
  const lru = new LruMap<string, number>(2);
  lru.set('a', 1);
  lru.set('b', 2);
  assert.equal(lru.get('a'), 1);
  lru.set('c', 3);
  assert.equal(lru.get('b'), undefined);
  assert.equal(lru.get('a'), 1);
  assert.equal(lru.get('c'), 3);
  assert.equal(lru.size, 2);
  const disabled = new LruMap<string, number>(0);
  disabled.set('a', 1);
  assert.equal(disabled.get('a'), undefined);
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
