import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { nsfwModelHandler } from './nsfw-shards';

/**
 * Writes one of nsfwjs's bundled models as a plain tfjs model folder (model.json + weights.bin, the
 * weights still in their quantised bytes), the form converters outside JavaScript read. Used by the
 * backbone export (npm run model:export-backbone); the runtime reads the bundle directly.
 */
export async function writeNsfwModelFolder(name: string, dir: string): Promise<{ modelJson: string; weightBytes: number }> {
  const handler = nsfwModelHandler(name);
  const artifacts = await handler.load!();
  const data = artifacts.weightData;
  const bytes = data === undefined ? Buffer.alloc(0) : Buffer.concat((Array.isArray(data) ? data : [data]).map((b) => Buffer.from(b)));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'weights.bin'), bytes);
  const modelJson = path.join(dir, 'model.json');
  await writeFile(
    modelJson,
    JSON.stringify({
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
    }),
  );
  return { modelJson, weightBytes: bytes.length };
}
