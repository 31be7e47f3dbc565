import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';

test('without tfjs-node(-gpu) installed, auto falls back to wasm and says why', async () => {
  const attempted: string[] = [];
  const info = await initBackend({
    importModule: async (specifier) => {
      attempted.push(specifier);
      const error = new Error(`Cannot find package '${specifier}'`) as Error & { code: string };
      error.code = 'ERR_MODULE_NOT_FOUND';
      throw error;
    },
  });
  assert.deepEqual(attempted, ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
  assert.equal(info.provider, 'wasm');
  assert.equal(info.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(info.skipped.length, 2);
  assert.match(info.skipped[0]!, /tfjs-node-gpu/);
});

test('a native package that imports but registers no backend is skipped too', async () => {
  const logged: Array<Record<string, unknown>> = [];
  const info = await initBackend({ importModule: async () => ({}), log: (_m, fields) => logged.push(fields) });
  assert.equal(info.provider, 'wasm');
  assert.match(info.skipped.join(' '), /registered no 'tensorflow' backend/);
  assert.equal(logged[0]!.backend, 'wasm');
});

test('prefer cpu selects the cpu backend', async () => {
  const info = await initBackend({ prefer: 'cpu', importModule: async () => { throw new Error('not installed'); } });
  assert.equal(info.name, 'cpu');
  await initBackend({ prefer: 'wasm' });
  assert.equal(tf.getBackend(), 'wasm');
});
