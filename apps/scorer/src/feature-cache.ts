import { LRUCache } from 'lru-cache';

/** What the backbone computed for one image. */
export interface ImageFeatures {
  /** [featureDim] */
  features: Float32Array;
  /** Explicit-content score from the backbone's own head, 0..1. */
  explicit: number;
}

export interface FeatureCacheStats {
  urlHits: number;
  hashHits: number;
  misses: number;
  entries: number;
  hitRate: number;
}

/**
 * Backbone features keyed twice: by image URL (a reblog repeats the URL, so no fetch at all) and by
 * content hash (the same picture re-uploaded under a new URL still skips decode and the backbone).
 * Both maps are bounded LRUs (lru-cache) sharing the same feature arrays; a capacity of 0 turns caching off.
 */
export class FeatureCache {
  // null when caching is off: lru-cache refuses a capacity of 0.
  private readonly byUrl: LRUCache<string, ImageFeatures> | null;
  private readonly byHash: LRUCache<string, ImageFeatures> | null;
  private urlHits = 0;
  private hashHits = 0;
  private misses = 0;

  constructor(capacity: number) {
    this.byUrl = capacity > 0 ? new LRUCache({ max: capacity }) : null;
    this.byHash = capacity > 0 ? new LRUCache({ max: capacity }) : null;
  }

  lookupUrl(url: string): ImageFeatures | undefined {
    const hit = this.byUrl?.get(url);
    if (hit !== undefined) this.urlHits++;
    return hit;
  }

  /** Asked after a URL miss once the bytes are in; a miss here is a miss of the whole cache. */
  lookupHash(hash: string, url: string): ImageFeatures | undefined {
    const hit = this.byHash?.get(hash);
    if (hit === undefined) {
      this.misses++;
      return undefined;
    }
    this.hashHits++;
    this.byUrl?.set(url, hit);
    return hit;
  }

  store(url: string, hash: string, features: ImageFeatures): void {
    this.byUrl?.set(url, features);
    this.byHash?.set(hash, features);
  }

  stats(): FeatureCacheStats {
    const lookups = this.urlHits + this.hashHits + this.misses;
    return {
      urlHits: this.urlHits,
      hashHits: this.hashHits,
      misses: this.misses,
      entries: this.byHash?.size ?? 0,
      hitRate: lookups === 0 ? 0 : (this.urlHits + this.hashHits) / lookups,
    };
  }
}
