import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageBackbone } from '../image/backbone';
import { preprocessImage } from '../image/preprocess';
import { ProgressBar } from './progress';

/**
 * Backbone features cached on disk by image content hash (sha256 of the bytes) and backbone id,
 * so epochs, re-runs and evaluation never recompute the CNN for an image seen before.
 */
export class FeatureCache {
  constructor(
    private readonly dir: string,
    private readonly backbone: ImageBackbone,
  ) {}

  private file(hash: string): string {
    return path.join(this.dir, this.backbone.id, hash.slice(0, 2), `${hash}.f32`);
  }

  private async read(hash: string): Promise<Float32Array | null> {
    try {
      const buf = await readFile(this.file(hash));
      if (buf.length !== this.backbone.featureDim * 4) return null;
      return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    } catch {
      return null;
    }
  }

  /** Features per input (null where the image cannot be decoded); computes misses in batches. */
  async features(images: ReadonlyArray<{ bytes: () => Promise<Buffer> }>, label = 'features', batchSize = 16): Promise<Array<Float32Array | null>> {
    const out: Array<Float32Array | null> = new Array(images.length).fill(null);
    const misses: Array<{ index: number; hash: string; pixels: Uint8Array }> = [];
    const bar = new ProgressBar(label, images.length);
    const flush = async () => {
      if (misses.length === 0) return;
      const { features } = await this.backbone.embed(misses.map((m) => m.pixels));
      for (let i = 0; i < misses.length; i++) {
        const m = misses[i]!;
        out[m.index] = features[i]!;
        await mkdir(path.dirname(this.file(m.hash)), { recursive: true });
        await writeFile(this.file(m.hash), Buffer.from(features[i]!.buffer));
      }
      bar.tick(misses.length);
      misses.length = 0;
    };
    try {
      for (let i = 0; i < images.length; i++) {
        const bytes = await images[i]!.bytes();
        const hash = createHash('sha256').update(bytes).digest('hex');
        const cached = await this.read(hash);
        if (cached) {
          out[i] = cached;
          bar.tick();
          continue;
        }
        try {
          misses.push({ index: i, hash, pixels: await preprocessImage(bytes, this.backbone.inputSize) });
        } catch {
          bar.tick();
          continue;
        }
        if (misses.length >= batchSize) await flush();
      }
      await flush();
    } finally {
      // A failed read or backbone pass ends the step early.
      bar.stop();
    }
    return out;
  }
}
