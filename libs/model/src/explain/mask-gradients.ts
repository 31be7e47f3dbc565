import * as tf from '@tensorflow/tfjs';

/**
 * Zero gradients for the boolean ops of the Masking layer (any(x ≠ 0) decides which steps are padding). They are
 * piecewise constant, so zero is their true gradient almost everywhere; tfjs registers none and refuses to
 * differentiate through a mask. Needed to take gradients with respect to the word vectors. Idempotent.
 */
export function ensureMaskGradients(): void {
  for (const kernelName of ['Any', 'NotEqual']) {
    if (tf.getGradient(kernelName) !== undefined) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: kernelName === 'Any' ? ['x'] : ['a', 'b'],
      // Float zeros: tfjs wants float gradients even for a boolean input.
      gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): Record<string, () => tf.Tensor> =>
        Object.fromEntries((kernelName === 'Any' ? ['x'] : ['a', 'b']).map((name, i) => [name, () => tf.zeros(saved[i]!.shape, 'float32')])),
    });
  }
}
