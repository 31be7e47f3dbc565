import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { ModelFormatError } from './errors';

const TOPOLOGY_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

/** A tfjs IOHandler that saves/loads a layers model as model.json + weights.bin in a local folder. */
export function folderHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts) => {
      await mkdir(dir, { recursive: true });
      const data = artifacts.weightData;
      const bytes = data === undefined ? Buffer.alloc(0) : Buffer.concat((Array.isArray(data) ? data : [data]).map((b) => Buffer.from(b)));
      await writeFile(path.join(dir, WEIGHTS_FILE), bytes);
      const json = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(path.join(dir, TOPOLOGY_FILE), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.length } };
    },
    load: async () => {
      let json: { modelTopology: tf.io.ModelArtifacts['modelTopology']; format?: string; weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> };
      let bytes: Buffer;
      try {
        json = JSON.parse(await readFile(path.join(dir, TOPOLOGY_FILE), 'utf8'));
        bytes = await readFile(path.join(dir, WEIGHTS_FILE));
      } catch (error) {
        throw new ModelFormatError(`cannot read model files in ${dir}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format ?? 'layers-model',
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      };
    },
  };
}
