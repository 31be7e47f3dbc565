import * as tf from '@tensorflow/tfjs';

const DEPTHWISE_GRAD = 'DepthwiseConv2dNativeBackpropInput';
const CONV_GRAD = 'Conv2DBackpropInput';
/** Not a tfjs kernel: ours, for the Relu6 gradient below. */
const RELU6_GRAD = 'MoodstreamRelu6Grad';

/** The attributes tfjs gives both input-gradient kernels (NHWC; dilation 1 is all the backbone uses). */
export interface BackpropAttrs {
  strides: [number, number] | number;
  pad: 'same' | 'valid' | number;
  dilations?: [number, number] | number;
  dataFormat?: string;
  inputShape: [number, number, number, number];
}

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use (it is not exported as a type). */
interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32', offset?: number, values?: Float32Array): tf.TensorInfo;
  /** A view of the tensor's bytes in the wasm heap: no copy; invalid once anything else is allocated. */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  disposeData(dataId: unknown, force?: boolean): boolean;
}

function pair(v: [number, number] | number | undefined): [number, number] {
  return v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v;
}

/** Padding before the first row/column, as TensorFlow computes it for 'same' and 'valid'. */
function padBefore(pad: BackpropAttrs['pad'], inSize: number, outSize: number, stride: number, k: number): number {
  if (typeof pad === 'number') return pad;
  if (pad === 'valid') return 0;
  return Math.floor(Math.max((outSize - 1) * stride + k - inSize, 0) / 2);
}

/**
 * The input gradient of a depthwise convolution (channel multiplier 1, no dilation), on plain arrays: every output
 * gradient is scattered back through the filter taps onto the input pixels it was computed from. The reference the
 * fast kernel below is tested with, and its fallback for geometries the fast one does not cover.
 */
export function depthwiseInputGradient(
  dy: Float32Array,
  dyShape: readonly number[],
  filter: Float32Array,
  filterShape: readonly number[],
  attrs: BackpropAttrs,
  out?: Float32Array,
): Float32Array {
  const [sy, sx] = pair(attrs.strides);
  const [n, inH, inW, C] = attrs.inputShape;
  const [kh, kw, , multiplier] = filterShape as [number, number, number, number];
  if (multiplier !== 1) throw new Error(`${DEPTHWISE_GRAD}: channel multiplier ${multiplier} is not supported`);
  const [, outH, outW] = dyShape as [number, number, number, number];
  const top = padBefore(attrs.pad, inH, outH, sy, kh);
  const left = padBefore(attrs.pad, inW, outW, sx, kw);
  const dx = out ?? new Float32Array(n * inH * inW * C);
  dx.fill(0);
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

/**
 * Where the input gradient of a convolution is itself a forward convolution: dy (with stride−1 zeros inserted
 * between its pixels when the stride is > 1) convolved with the filter turned 180° (and, for a full convolution,
 * its in/out channels swapped), padded by k−1−top before and whatever makes the input size after. Null when that
 * padding would be negative (a stride larger than the filter) — those take the slow path.
 */
function transposedGeometry(attrs: BackpropAttrs, dyShape: readonly number[], kh: number, kw: number) {
  const [sy, sx] = pair(attrs.strides);
  const [dh, dw] = pair(attrs.dilations);
  if (dh !== 1 || dw !== 1) return null;
  const [, inH, inW] = attrs.inputShape;
  const [, outH, outW] = dyShape as [number, number, number, number];
  const spreadH = (outH - 1) * sy + 1;
  const spreadW = (outW - 1) * sx + 1;
  const top = kh - 1 - padBefore(attrs.pad, inH, outH, sy, kh);
  const left = kw - 1 - padBefore(attrs.pad, inW, outW, sx, kw);
  const bottom = inH - spreadH + kh - 1 - top;
  const right = inW - spreadW + kw - 1 - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  return { sy, sx, spreadH, spreadW, pad: [[0, 0], [top, bottom], [left, right], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]] };
}

/**
 * Turned filters, made once per backbone filter and reused every step. Looked up by content, not by tensor: tfjs
 * clones every tensor a gradient saves, so each step hands the kernel a fresh copy of the same frozen filter (a
 * lookup by tensor would miss every time, re-turn the filter and let XNNPACK re-pack its weights).
 */
const turnedFilters = new Map<string, Array<{ source: Float32Array; turned: tf.TensorInfo }>>();

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function turnedFilter(backend: WasmBackend, filter: tf.TensorInfo, swapChannels: boolean): tf.TensorInfo {
  const key = `${filter.shape.join('x')}/${swapChannels}`;
  const entries = turnedFilters.get(key) ?? [];
  const values = backend.typedArrayFromHeap(filter);
  const hit = entries.find((e) => sameValues(e.source, values));
  if (hit !== undefined) return hit.turned;
  const source = Float32Array.from(values);
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const out = backend.makeOutput(swapChannels ? [kh, kw, co, ci] : [kh, kw, ci, co], 'float32');
  const dst = backend.typedArrayFromHeap(out);
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const from = ((kh - 1 - ky) * kw + (kw - 1 - kx)) * ci * co;
      const to = (ky * kw + kx) * ci * co;
      if (!swapChannels) dst.set(source.subarray(from, from + ci * co), to);
      else for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) dst[to + o * ci + i] = source[from + i * co + o]!;
    }
  }
  entries.push({ source, turned: out });
  turnedFilters.set(key, entries);
  return out;
}

/** dy with stride−1 zero rows/columns between its pixels (dy itself when the stride is 1). */
function spread(backend: WasmBackend, dy: tf.TensorInfo, sy: number, sx: number, spreadH: number, spreadW: number): tf.TensorInfo {
  if (sy === 1 && sx === 1) return dy;
  const [n, h, w, c] = dy.shape as [number, number, number, number];
  const out = backend.makeOutput([n, spreadH, spreadW, c], 'float32');
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(dy);
  dst.fill(0);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const from = ((b * h + y) * w + x) * c;
        dst.set(src.subarray(from, from + c), ((b * spreadH + y * sy) * spreadW + x * sx) * c);
      }
    }
  }
  return out;
}

/** Runs the backend's own forward convolution kernel (XNNPACK in tfjs-backend-wasm) on tensors already in it. */
function forwardKernel(name: 'Conv2D' | 'DepthwiseConv2dNative', backend: WasmBackend, x: tf.TensorInfo, filter: tf.TensorInfo, pad: unknown): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm')!;
  const attrs = { strides: [1, 1], dilations: [1, 1], pad, dataFormat: 'NHWC' };
  return kernel.kernelFunc({ inputs: { x, filter }, attrs: attrs as unknown as tf.NamedAttrMap, backend: backend as unknown as tf.KernelBackend }) as tf.TensorInfo;
}

function transposedConvolution(name: 'Conv2D' | 'DepthwiseConv2dNative', backend: WasmBackend, dy: tf.TensorInfo, filter: tf.TensorInfo, attrs: BackpropAttrs): tf.TensorInfo | null {
  const [kh, kw] = filter.shape as [number, number];
  const geometry = transposedGeometry(attrs, dy.shape, kh, kw);
  if (geometry === null) return null;
  const spreadDy = spread(backend, dy, geometry.sy, geometry.sx, geometry.spreadH, geometry.spreadW);
  try {
    return forwardKernel(name, backend, spreadDy, turnedFilter(backend, filter, name === 'Conv2D'), geometry.pad);
  } finally {
    if (spreadDy !== dy) backend.disposeData(spreadDy.dataId);
  }
}

/** dy where 0 < x ≤ 6, else 0: tfjs's Relu6 gradient (x ≤ 6 and step(x)) in one pass instead of five kernels. */
function relu6Gradient(backend: WasmBackend, dy: tf.TensorInfo, x: tf.TensorInfo): tf.TensorInfo {
  const out = backend.makeOutput(dy.shape, 'float32');
  const o = backend.typedArrayFromHeap(out);
  const d = backend.typedArrayFromHeap(dy);
  const v = backend.typedArrayFromHeap(x);
  // Branch-free (a mask multiply): activations straddle 0 and 6 at random, and a branch here mispredicts half the time.
  for (let i = 0; i < o.length; i++) {
    const x = v[i]!;
    o[i] = d[i]! * (Number(x > 0) * Number(x <= 6));
  }
  return out;
}

let registered = false;
/** Off: tfjs's own paths (the backend's Conv2DBackpropInput, the JS depthwise loop, five-kernel Relu6) — the baseline the fast ones are measured against. */
let fastPaths = true;

export function useFastWasmInputGradients(on: boolean): void {
  fastPaths = on;
}

/**
 * Fast input gradients on the wasm backend, for class visualisation's climb through MobileNetV2. The backend lacks
 * DepthwiseConv2dNativeBackpropInput altogether, and its Conv2DBackpropInput is a plain loop (a step spent half
 * its time there); both become the backend's own XNNPACK forward convolution of dy with the turned filter (see
 * transposedGeometry). Other geometries fall back to the plain-JS depthwise loop / the backend's kernel. The
 * Relu6 gradient (35 in MobileNetV2, five kernels each, a fifth of a step) becomes one pass.
 * Once per process; the turned filters are freed by releaseWasmInputGradients.
 */
export function ensureWasmInputGradients(): void {
  if (registered) return;
  registered = true;
  const slowConv = tf.getKernel(CONV_GRAD, 'wasm');
  if (slowConv !== undefined) tf.unregisterKernel(CONV_GRAD, 'wasm');
  tf.registerKernel({
    kernelName: CONV_GRAD,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const attrs = args.attrs as unknown as BackpropAttrs;
      const fast = !fastPaths || attrs.dataFormat === 'NCHW' ? null : transposedConvolution('Conv2D', args.backend as unknown as WasmBackend, dy, filter, attrs);
      if (fast !== null) return fast;
      if (slowConv === undefined) throw new Error(`${CONV_GRAD}: no wasm kernel for this geometry`);
      return slowConv.kernelFunc(args);
    },
  });
  if (tf.getKernel(DEPTHWISE_GRAD, 'wasm') !== undefined) tf.unregisterKernel(DEPTHWISE_GRAD, 'wasm');
  tf.registerKernel({
    kernelName: DEPTHWISE_GRAD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs: a, backend: b }) => {
      const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const backend = b as unknown as WasmBackend;
      const attrs = a as unknown as BackpropAttrs;
      const fast = fastPaths ? transposedConvolution('DepthwiseConv2dNative', backend, dy, filter, attrs) : null;
      if (fast !== null) return fast;
      const out = backend.makeOutput(attrs.inputShape, 'float32');
      depthwiseInputGradient(backend.typedArrayFromHeap(dy), dy.shape, backend.typedArrayFromHeap(filter), filter.shape, attrs, backend.typedArrayFromHeap(out));
      return out;
    },
  });
  tf.registerKernel({
    kernelName: RELU6_GRAD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => relu6Gradient(backend as unknown as WasmBackend, inputs['dy'] as tf.TensorInfo, inputs['x'] as tf.TensorInfo),
  });
  // The gradient is registered per op, not per backend: other backends keep tfjs's own.
  const relu6 = tf.getGradient('Relu6');
  if (relu6 !== undefined) {
    tf.registerGradient({
      ...relu6,
      gradFunc: (dy, saved, attrs) =>
        fastPaths && tf.getBackend() === 'wasm' && !Array.isArray(dy) ? { x: () => tf.engine().runKernel(RELU6_GRAD, { dy, x: saved[0]! }) as tf.Tensor } : relu6.gradFunc(dy, saved, attrs),
    });
  }
}

/** Frees the turned filters (call when the backbone whose filters they are is disposed). */
export function releaseWasmInputGradients(): void {
  const backend = tf.findBackend('wasm') as unknown as WasmBackend | null;
  if (backend !== null) for (const entries of turnedFilters.values()) for (const e of entries) backend.disposeData(e.turned.dataId, true);
  turnedFilters.clear();
}
