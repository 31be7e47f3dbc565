import type * as Ort from 'onnxruntime-node';

/** Loads onnxruntime-node (optional at run time: a host without it keeps tfjs); `importModule` lets tests simulate it missing. */
export async function importOrt(importModule: (specifier: string) => Promise<unknown> = (s) => import(s)): Promise<typeof Ort> {
  const imported = (await importModule('onnxruntime-node')) as typeof Ort & { default?: typeof Ort };
  // CommonJS package under ESM: the API is on `default` when imported, on the module itself when required.
  const ort = imported.InferenceSession ? imported : imported.default;
  if (ort?.InferenceSession === undefined) throw new Error('onnxruntime-node exports no InferenceSession');
  return ort;
}
