import * as tf from '@tensorflow/tfjs';

export interface KernelCost {
  kernel: string;
  calls: number;
  /** Process CPU time (user + system) inside the kernel: unlike wall time, barely moved by other processes. */
  cpuMs: number;
}

/**
 * Runs fn with every kernel of the backend wrapped in a CPU-time meter, then puts the kernels back. A kernel that
 * calls another (the fast input gradients call the forward convolution) counts that time too, so rows overlap.
 * For measuring where a visualisation step goes (`npm run visualise -- --profile N`), never for scoring.
 */
export async function profileKernels(backendName: string, fn: () => Promise<void>): Promise<{ cpuMs: number; kernels: KernelCost[] }> {
  const costs = new Map<string, KernelCost>();
  const originals = tf.getKernelsForBackend(backendName);
  const swap = (configs: tf.KernelConfig[]) => {
    for (const k of configs) {
      tf.unregisterKernel(k.kernelName, backendName);
      tf.registerKernel(k);
    }
  };
  swap(
    originals.map((k) => ({
      ...k,
      // Already set up by the backend: running it again would re-bind the same wasm functions for nothing.
      setupFunc: undefined,
      kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => {
        const started = process.cpuUsage();
        const out = k.kernelFunc(args);
        const used = process.cpuUsage(started);
        const cost = costs.get(k.kernelName) ?? { kernel: k.kernelName, calls: 0, cpuMs: 0 };
        cost.calls++;
        cost.cpuMs += (used.user + used.system) / 1000;
        costs.set(k.kernelName, cost);
        return out;
      },
    })),
  );
  const started = process.cpuUsage();
  try {
    await fn();
  } finally {
    swap(originals);
  }
  const used = process.cpuUsage(started);
  return { cpuMs: (used.user + used.system) / 1000, kernels: [...costs.values()].sort((a, b) => b.cpuMs - a.cpuMs) };
}
