import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type BackendPreference = 'auto' | 'wasm' | 'cpu' | 'tfjs-node' | 'tfjs-node-gpu';

export interface InitBackendOptions {
  prefer?: BackendPreference;
  /** Loads an optional native package; injectable so tests can simulate what is (not) installed. */
  importModule?: (specifier: string) => Promise<unknown>;
  /** Called once with the chosen backend (the apps pass their logger here). */
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export interface BackendInfo {
  /** tfjs backend name in use: 'tensorflow' (tfjs-node / tfjs-node-gpu), 'wasm' or 'cpu'. */
  name: string;
  /** Which package provides it. */
  provider: 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';
  /** Why the faster native packages were not used, when they were not. */
  skipped: string[];
}

const require = createRequire(import.meta.url);
let current: BackendInfo | null = null;

/** The backend chosen by the last initBackend call, or null before it. */
export function currentBackend(): BackendInfo | null {
  return current;
}

async function tryNative(
  pkg: 'tfjs-node-gpu' | 'tfjs-node',
  importModule: (specifier: string) => Promise<unknown>,
  skipped: string[],
): Promise<boolean> {
  try {
    await importModule(`@tensorflow/${pkg}`);
  } catch (error) {
    skipped.push(`${pkg}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    return false;
  }
  // The native packages register the 'tensorflow' backend as a side effect of being imported.
  if (!tf.findBackend('tensorflow')) {
    skipped.push(`${pkg}: imported but registered no 'tensorflow' backend`);
    return false;
  }
  return tf.setBackend('tensorflow');
}

async function useWasm(): Promise<boolean> {
  // Node cannot fetch the .wasm binary by URL: point the loader at the files inside the package.
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  setWasmPaths(dir + path.sep);
  return tf.setBackend('wasm');
}

/**
 * Picks the fastest available tfjs backend: tfjs-node-gpu > tfjs-node > wasm (> cpu as last resort).
 * The native packages are optional dependencies loaded by dynamic import, so a host without them
 * (like CI) silently falls back to wasm.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const prefer = options.prefer ?? 'auto';
  const importModule = options.importModule ?? ((s: string) => import(s));
  const skipped: string[] = [];
  let provider: BackendInfo['provider'] | null = null;

  if ((prefer === 'auto' || prefer === 'tfjs-node-gpu') && (await tryNative('tfjs-node-gpu', importModule, skipped))) {
    provider = 'tfjs-node-gpu';
  } else if (
    (prefer === 'auto' || prefer === 'tfjs-node' || prefer === 'tfjs-node-gpu') &&
    (await tryNative('tfjs-node', importModule, skipped))
  ) {
    provider = 'tfjs-node';
  } else if (prefer !== 'cpu' && (await useWasm())) {
    provider = 'wasm';
  } else if (await tf.setBackend('cpu')) {
    provider = 'cpu';
  }
  if (provider === null) throw new Error('no tfjs backend could be initialised');
  await tf.ready();
  current = { name: tf.getBackend(), provider, skipped };
  options.log?.('tfjs backend selected', { backend: current.name, provider, skipped });
  return current;
}
