import * as tf from '@tensorflow/tfjs';

const KERNEL = 'DepthwiseConv2dNativeBackpropInput';

interface BackpropAttrs {
  strides: [number, number] | number;
  pad: 'same' | 'valid' | number;
  dilations: [number, number] | number;
  inputShape: [number, number, number, number];
}

/** Padding before the first row/column, as TensorFlow computes it for 'same' and 'valid'. */
function padBefore(pad: BackpropAttrs['pad'], inSize: number, outSize: number, stride: number, k: number): number {
  if (typeof pad === 'number') return pad;
  if (pad === 'valid') return 0;
  return Math.floor(Math.max((outSize - 1) * stride + k - inSize, 0) / 2);
}

/**
 * The input gradient of a depthwise convolution (channel multiplier 1, no dilation), on plain arrays: every output
 * gradient is scattered back through the filter taps onto the input pixels it was computed from. The wasm backend
 * lacks this kernel, which class visualisation needs to climb through MobileNetV2; tested against the cpu backend.
 */
export function depthwiseInputGradient(
  dy: Float32Array,
  dyShape: readonly number[],
  filter: Float32Array,
  filterShape: readonly number[],
  attrs: BackpropAttrs,
): Float32Array {
  const [sy, sx] = typeof attrs.strides === 'number' ? [attrs.strides, attrs.strides] : attrs.strides;
  const [n, inH, inW, C] = attrs.inputShape;
  const [kh, kw, , multiplier] = filterShape as [number, number, number, number];
  if (multiplier !== 1) throw new Error(`${KERNEL}: channel multiplier ${multiplier} is not supported`);
  const [, outH, outW] = dyShape as [number, number, number, number];
  const top = padBefore(attrs.pad, inH, outH, sy, kh);
  const left = padBefore(attrs.pad, inW, outW, sx, kw);
  const dx = new Float32Array(n * inH * inW * C);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const dyBase = ((b * outH + oy) * outW + ox) * C;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sy - top + ky;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sx - left + kx;
            if (ix < 0 || ix >= inW) continue;
            const dxBase = ((b * inH + iy) * inW + ix) * C;
            const fBase = (ky * kw + kx) * C;
            for (let c = 0; c < C; c++) dx[dxBase + c]! += dy[dyBase + c]! * filter[fBase + c]!;
          }
        }
      }
    }
  }
  return dx;
}

/** Registers depthwiseInputGradient as the wasm backend's kernel (once; a no-op where the kernel exists). */
export function ensureWasmDepthwiseGradient(): void {
  if (tf.getKernel(KERNEL, 'wasm') !== undefined) return;
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const wasm = backend as unknown as { readSync(id: unknown): Float32Array; makeOutput(shape: number[], dtype: 'float32', offset?: number, values?: Float32Array): tf.TensorInfo };
      const values = depthwiseInputGradient(wasm.readSync(dy.dataId), dy.shape, wasm.readSync(filter.dataId), filter.shape, attrs as unknown as BackpropAttrs);
      return wasm.makeOutput((attrs as unknown as BackpropAttrs).inputShape, 'float32', undefined, values);
    },
  });
}
