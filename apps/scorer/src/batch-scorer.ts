import { createHash } from 'node:crypto';
import { createLimit, errorCode, errorMessage, type Clock, type ErrorCode } from '@moodstream/core';
import type { BusRecord } from '@moodstream/bus';
import type { Post, ScoredPostInput } from '@moodstream/events';
import { scoredPost } from '@moodstream/model';
import type { FeatureCache, ImageFeatures } from './feature-cache';
import type { FetchedImage } from './fetch/safe-image-fetcher';
import type { InferenceEngine, InferenceItem } from './inference/inference-engine';

export interface QueuedPost {
  record: BusRecord<Post>;
  /** When the scorer received the record (its clock), for the queue latency. */
  receivedAt: number;
}

export interface BatchScorerDeps {
  engine: InferenceEngine;
  fetchImage: (url: string) => Promise<FetchedImage>;
  /** Decodes and resizes to inputSize×inputSize RGB; throws on bombs and non-images. */
  decodeImage: (bytes: Buffer, inputSize: number) => Promise<Uint8Array>;
  cache: FeatureCache;
  clock: Clock;
  imageConcurrency: number;
}

export interface BatchTimings {
  fetchMs: number;
  decodeMs: number;
  backboneMs: number;
  modelMs: number;
}

export interface ScoredBatch {
  scored: ScoredPostInput[];
  timings: BatchTimings;
  /** Error code of every image that could not be used (one per distinct URL). */
  imageErrors: ErrorCode[];
  /** Images that went through the backbone in this batch. */
  embeddedImages: number;
}

type ImageState =
  | { kind: 'features'; value: ImageFeatures }
  | { kind: 'fetched'; bytes: Buffer; hash: string }
  | { kind: 'failed'; reason: string; code: ErrorCode };

const IMAGE_ERROR_MAX = 200;

/**
 * Turns one micro-batch of posts into ScoredPosts: images fetched concurrently (or found in the
 * feature cache by URL, then by content hash), each decoded as soon as it arrives, embedded, and every
 * post scored in one fused pass. A post whose image fails is scored on its text with the reason in `imageError`;
 * no post is ever left out.
 */
export class BatchScorer {
  constructor(private readonly deps: BatchScorerDeps) {}

  async score(batch: readonly QueuedPost[]): Promise<ScoredBatch> {
    const { clock, cache, engine } = this.deps;
    const startedAt = clock.now();
    // At most imageConcurrency fetches at once per batch, and as many decodes: a decode starts as soon as its
    // image has arrived, so decoding overlaps the slower fetches instead of waiting for the whole batch.
    const fetches = createLimit(this.deps.imageConcurrency);
    const decodes = createLimit(this.deps.imageConcurrency);
    const urls = [...new Set(batch.map((q) => q.record.value.imageUrl).filter((u): u is string => u !== null))];
    const states = new Map<string, ImageState>();
    // Each distinct content is decoded once, however many URLs served it; keyed by content hash, in arrival order.
    const decoding = new Map<string, Promise<Uint8Array | ImageState>>();
    let decodeFirst = Infinity;
    let decodeLast = -Infinity;
    const decode = (bytes: Buffer): Promise<Uint8Array | ImageState> =>
      decodes.run(async () => {
        decodeFirst = Math.min(decodeFirst, performance.now());
        try {
          return await this.deps.decodeImage(bytes, engine.info.inputSize);
        } catch (error) {
          return failure(error);
        } finally {
          decodeLast = Math.max(decodeLast, performance.now());
        }
      });

    const fetchStart = performance.now();
    const toFetch = urls.filter((url) => {
      const hit = cache.lookupUrl(url);
      if (hit !== undefined) states.set(url, { kind: 'features', value: hit });
      return hit === undefined;
    });
    await fetches.map(toFetch, async (url) => {
      try {
        const image = await this.deps.fetchImage(url);
        const hash = createHash('sha256').update(image.bytes).digest('hex');
        const hit = cache.lookupHash(hash, url);
        if (hit !== undefined) {
          states.set(url, { kind: 'features', value: hit });
          return;
        }
        states.set(url, { kind: 'fetched', bytes: image.bytes, hash });
        if (!decoding.has(hash)) decoding.set(hash, decode(image.bytes));
      } catch (error) {
        states.set(url, failure(error));
      }
    });
    const fetchMs = toFetch.length === 0 ? 0 : performance.now() - fetchStart;

    const hashes = [...decoding.keys()];
    const decoded = await Promise.all(decoding.values());
    const decodeMs = hashes.length === 0 ? 0 : decodeLast - decodeFirst;
    const byHash = new Map<string, { urls: string[] }>();
    for (const [url, state] of states) {
      if (state.kind !== 'fetched') continue;
      const group = byHash.get(state.hash) ?? { urls: [] };
      group.urls.push(url);
      byHash.set(state.hash, group);
    }

    const pixels: Uint8Array[] = [];
    const pixelIndexOfHash = new Map<string, number>();
    hashes.forEach((hash, i) => {
      const image = decoded[i]!;
      if (!(image instanceof Uint8Array)) {
        for (const url of byHash.get(hash)!.urls) states.set(url, image);
        return;
      }
      pixelIndexOfHash.set(hash, pixels.length);
      pixels.push(image);
    });

    const items: InferenceItem[] = batch.map(({ record }) => {
      const post = record.value;
      const state = post.imageUrl === null ? undefined : states.get(post.imageUrl);
      if (state === undefined || state.kind === 'failed') return { text: post.text, image: null };
      if (state.kind === 'features') return { text: post.text, image: { kind: 'features', features: state.value.features } };
      const index = pixelIndexOfHash.get(state.hash);
      return { text: post.text, image: index === undefined ? null : { kind: 'pixels', index } };
    });

    const result = await engine.run({ items, pixels });

    for (const [hash, index] of pixelIndexOfHash) {
      const features = result.embedded[index]!;
      for (const url of byHash.get(hash)!.urls) cache.store(url, hash, features);
    }

    const finishedAt = clock.now();
    const timings: BatchTimings = { fetchMs, decodeMs, backboneMs: result.backboneMs, modelMs: result.modelMs };
    const scored = batch.map((queued, i) =>
      scoredPost(queued.record.value, result.scores[i]!, {
        explicit: explicitOf(items[i]!, states.get(queued.record.value.imageUrl ?? ''), result.embedded),
        imageError: imageErrorOf(queued.record.value, states),
        latencies: { queueMs: Math.max(0, startedAt - queued.receivedAt), ...round(timings), totalMs: Math.max(0, finishedAt - queued.receivedAt) },
        scoredAt: finishedAt,
      }),
    );
    const imageErrors = [...states.values()].flatMap((s) => (s.kind === 'failed' ? [s.code] : []));
    return { scored, timings, imageErrors, embeddedImages: pixels.length };
  }
}

function failure(error: unknown): ImageState {
  // Fetch and decode raise IMAGE_* codes; anything else is unexpected and counted as INTERNAL.
  const code = errorCode(error);
  return { kind: 'failed', code, reason: `${code}: ${errorMessage(error)}`.slice(0, IMAGE_ERROR_MAX) };
}

function explicitOf(item: InferenceItem, state: ImageState | undefined, embedded: ImageFeatures[]): number | null {
  if (item.image === null) return null;
  if (item.image.kind === 'pixels') return embedded[item.image.index]?.explicit ?? null;
  return state?.kind === 'features' ? state.value.explicit : null;
}

function imageErrorOf(post: Post, states: Map<string, ImageState>): string | null {
  if (post.imageUrl === null) return null;
  const state = states.get(post.imageUrl);
  return state?.kind === 'failed' ? state.reason : null;
}

function round(timings: BatchTimings): BatchTimings {
  const r = (ms: number): number => Math.round(ms * 100) / 100;
  return { fetchMs: r(timings.fetchMs), decodeMs: r(timings.decodeMs), backboneMs: r(timings.backboneMs), modelMs: r(timings.modelMs) };
}
