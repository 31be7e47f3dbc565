import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { createSerialQueue, errorMessage } from '@moodstream/core';
import { loadModels } from './load-models';
import { runInference } from './run-inference';
import type { FromWorker, ToWorker, WorkerSetup } from './worker-protocol';

/**
 * Entry of one inference thread: loads its own backbone and model (wasm is single-threaded in Node,
 * so each core needs its own copy) and runs requests one at a time.
 */
async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('inference-worker must run as a worker thread');
  const post = (message: FromWorker): void => port.postMessage(message);
  const setup = workerData as WorkerSetup;
  let models: Awaited<ReturnType<typeof loadModels>>;
  try {
    models = await loadModels(setup.modelDir, setup.backbone);
  } catch (error) {
    post({ type: 'init-failed', message: errorMessage(error) });
    return;
  }
  post({
    type: 'ready',
    info: {
      backend: models.backend,
      modelVersion: models.scorer.modelVersion,
      backboneId: models.scorer.backboneId,
      inputSize: models.scorer.inputSize,
      backboneRuntime: models.scorer.backboneRuntime,
      networkRuntime: models.scorer.networkRuntime,
    },
  });
  // One request at a time, in arrival order: a tensor count asked after a batch sees that batch's tensors released.
  const queue = createSerialQueue();
  port.on('message', (message: ToWorker) => {
    void queue.run(async () => {
      if (message.type === 'tensors') {
        post({ type: 'tensors', id: message.id, count: tf.memory().numTensors });
        return;
      }
      try {
        const result = await runInference(models, message.request);
        post({ type: 'result', id: message.id, result });
      } catch (error) {
        post({ type: 'error', id: message.id, message: errorMessage(error) });
      }
    });
  });
}

void main();
