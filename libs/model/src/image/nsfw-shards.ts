import { createRequire } from 'node:module';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';

const require = createRequire(import.meta.url);

/** Folder of nsfwjs's bundled model files (UMD modules: the topology object and base64 weight shards). */
function nsfwModelsDir(): string {
  // The package's "exports" hides dist/models, so resolve its entry and walk to the folder.
  const entry = require.resolve('nsfwjs');
  return path.join(entry.slice(0, entry.lastIndexOf(`${path.sep}dist${path.sep}`)), 'dist', 'models');
}

interface BundledModelJson {
  format?: string;
  modelTopology: unknown;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  userDefinedMetadata?: tf.io.ModelArtifacts['userDefinedMetadata'];
}

/**
 * A tfjs IOHandler reading one of nsfwjs's bundled models from local files. The shards are
 * base64 strings inside UMD modules; Buffer.from decodes them natively, where nsfwjs's own loader
 * runs a per-character JS loop that takes up to a minute.
 */
export function nsfwModelHandler(name: string): tf.io.IOHandler {
  return {
    load: async () => {
      const dir = path.join(nsfwModelsDir(), name);
      const json = require(path.join(dir, 'model.min.js')) as BundledModelJson;
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Buffer[] = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const shard of group.paths) {
          const base64 = require(path.join(dir, `${shard}.min.js`)) as string;
          buffers.push(Buffer.from(base64, 'base64'));
        }
      }
      const all = Buffer.concat(buffers);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
      return {
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        format: json.format ?? 'layers-model',
        weightSpecs,
        weightData,
        ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
      };
    },
  };
}
