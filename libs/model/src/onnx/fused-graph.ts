import type * as tf from '@tensorflow/tfjs';
import type { NetworkConfig } from '../network';
import { IMAGE_ONLY_LAYER, IMAGE_SKIP_LAYER, MEMBERS_MEAN_LAYER, memberSuffix } from '../network';
import { DataType, encodeModel, type Graph, type Node, type Tensor } from './onnx-proto';

/** Inputs of the exported graph (FusedOnnxHead fills them; pack-rows.ts lays the words out). */
export const FUSED_INPUTS = {
  /** [T, rows] int32: word ids, time-major, several posts per row with the reset id between two (packRows). */
  tokens: 'tokens',
  /** [rows] int32: steps of each row (at least 1). */
  rowLengths: 'row_lengths',
  /** [batch] int64: each post's forward output, as a row of the LSTM's Y flattened to [T · directions · rows, H]. */
  last: 'last_step',
  /** [batch] int64, bidirectional only: each post's backward output (at its first token), same flattening. */
  first: 'first_step',
  /** [batch] int32: unmasked tokens per post (0 allowed). */
  steps: 'steps',
  /** [batch, K] int64 / float32: the row's n-gram feature indices and their values (0-padded). */
  bowIndex: 'bow_index',
  bowValue: 'bow_value',
  image: 'image',
  presence: 'presence',
} as const;
export const FUSED_OUTPUT = 'logits';

/** Why a network cannot be exported (the scorer then keeps tfjs). */
export class UnsupportedNetworkError extends Error {}

const OPSET = 13;
const IR_VERSION = 7;

/**
 * The Deep Sentiment network of `buildNetwork(config)` as an ONNX graph with the trained weights of `network`,
 * for inference: dropouts are identities, the word lookup is a Gather from the vocabulary's vectors (`vectors`,
 * [words, embeddingDim] row-major, EmotionModel.vocab), the Masking + LSTM pair becomes one LSTM node over rows
 * that hold several posts each (packRows: a masked step — an all-zero word vector: padding — carries the state
 * unchanged, so the caller leaves those steps out and the result is the same), and the n-gram
 * Dense takes the sparse presence vector as (index, value) pairs through Gather + ReduceSum instead of a
 * 20,000-wide MatMul. Calibration stays outside, shared with tfjs (EmotionModel.calibrate).
 *
 * The reset step between two posts of a row: the lookup table gets one more row (id = the vocabulary's size, see
 * resetId) and one more column, 1 in that row and 0 in every word's. The LSTM's input weights get a matching
 * column, 0 for the output and cell gates and, for the input and forget gates, a negative number larger than
 * anything the rest of the gate's input can reach (bias plus the recurrent weights' absolute row sum: the state
 * is in (−1, 1)), so the hard sigmoid gives exactly 0 for both: c = 0·c₋₁ + 0·g = 0 and h = o·tanh(0) = 0, the
 * state a post starts from alone. A word's step multiplies that column by 0, so its sums are unchanged.
 *
 * `textOnly` makes the graph for batches without a single image (most of a text stream): no image input, no
 * image Dense (1792 × 128 multiply-adds a post, on zeros), the fusion layer's image block a constant 0 — what the
 * full graph gives it for a post without an image (relu(…) · hasImage 0) — and the logits the fusion logits,
 * which the full graph adds the image heads' 0 to: the same numbers for those posts.
 */
export function fusedGraph(
  network: tf.LayersModel,
  c: NetworkConfig,
  vectors: Float32Array,
  options: { metadata?: Record<string, string>; textOnly?: boolean } = {},
): Uint8Array {
  const textOnly = options.textOnly ?? false;
  const weights = (layer: string): Float32Array[] => network.getLayer(layer).getWeights().map((w) => w.dataSync() as Float32Array);
  const nodes: Node[] = [];
  const initializers: Tensor[] = [];
  const float = (name: string, dims: number[], data: Float32Array): string => {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new UnsupportedNetworkError(`${name}: ${data.length} values for shape ${dims.join('×')}`);
    initializers.push({ name, dataType: DataType.FLOAT, dims, raw: bytesOf(data) });
    return name;
  };
  const int64 = (name: string, values: number[]): string => {
    initializers.push({ name, dataType: DataType.INT64, dims: [values.length], raw: bytesOf(BigInt64Array.from(values.map(BigInt))) });
    return name;
  };
  const int32 = (name: string, value: number): string => {
    initializers.push({ name, dataType: DataType.INT32, dims: [], raw: bytesOf(Int32Array.of(value)) });
    return name;
  };
  const node = (op: string, inputs: string[], output: string, attributes?: Node['attributes']): string => {
    nodes.push({ op, inputs, outputs: [output], name: output, ...(attributes ? { attributes } : {}) });
    return output;
  };
  const dense = (layer: string, input: string, relu: boolean): string => {
    const [kernel, bias] = weights(layer);
    const units = bias!.length;
    const out = node('Gemm', [input, float(`${layer}/kernel`, [kernel!.length / units, units], kernel!), float(`${layer}/bias`, [units], bias!)], `${layer}/linear`);
    return relu ? node('Relu', [out], layer) : out;
  };

  const I = FUSED_INPUTS;
  const E = c.embeddingDim;
  if (vectors.length % E !== 0) throw new UnsupportedNetworkError(`word vectors: ${vectors.length} values are not rows of ${E}`);
  const words = vectors.length / E;
  const zero = int64('const/0', [0]);
  const one = int64('const/1', [1]);
  const two = int64('const/2', [2]);
  const hasText = node('Slice', [I.presence, zero, one, one], 'has_text');
  const hasImage = textOnly ? '' : node('Slice', [I.presence, one, two, one], 'has_image');
  // Text-only: the fusion layer's image block, zeros [batch, imageUnits].
  const imageZeros = textOnly
    ? node(
        'ConstantOfShape',
        [node('Concat', [node('Slice', [node('Shape', [I.presence], 'batch_shape'), zero, one, zero], 'batch_size'), int64('const/image_units', [c.imageUnits])], 'image_zeros_shape', { axis: 0 })],
        'image_zeros',
      )
    : '';

  // Shared by every member: the word vectors of the packed rows, [T, rows, E + 1] (the last column marks reset
  // steps), and which posts have a step at all (a post whose every token is masked keeps the LSTM's zero state in
  // tfjs; packRows points it at any output and it is multiplied by 0 instead).
  const table = new Float32Array((words + 1) * (E + 1));
  for (let w = 0; w < words; w++) table.set(vectors.subarray(w * E, (w + 1) * E), w * (E + 1));
  table[words * (E + 1) + E] = 1;
  const sequence = node('Gather', [float('word_table', [words + 1, E + 1], table), I.tokens], 'sequence');
  const hasSteps = node('Unsqueeze', [node('Cast', [node('Greater', [I.steps, int32('const/0i', 0)], 'has_steps/bool')], 'has_steps/float', { to: DataType.FLOAT }), one], 'has_steps');

  /**
   * One member's text LSTM as one ONNX `LSTM` node → its [batch, H] (or, bidirectional, [batch, 2H]) output.
   * tfjs keeps the gates' blocks in the order i, f, c, o; ONNX wants i, o, f, c. A bidirectional layer
   * (`text_bilstm`, tfjs's Bidirectional wrapper: weights forward then backward) stacks both directions' W, R
   * and B, forward first, which is ONNX's order too. Its backward layer runs over the reversed pre-padded row
   * with the reversed mask, so it reads the tokens last to first and then carries its state through the
   * padding: the state after the row's first token — what ONNX's reverse direction gives when it starts at
   * position length − 1. tfjs's default merge, concat, is [forward, backward] per row: Y_h [2, batch, H]
   * transposed to [batch, 2, H] and flattened.
   */
  const recurrent = (sfx: string): string => {
    const lstm = c.bidirectional ? `text_bilstm${sfx}` : `text_lstm${sfx}`;
    const directions = c.bidirectional ? 2 : 1;
    const all = weights(lstm);
    if (all.length !== 3 * directions) throw new UnsupportedNetworkError(`${lstm}: ${all.length} weight arrays, expected ${3 * directions}`);
    const H = c.lstmUnits;
    const perDirection = Array.from({ length: directions }, (_, d) => all.slice(3 * d, 3 * d + 3) as [Float32Array, Float32Array, Float32Array]);
    const W = float(`${lstm}/W`, [directions, 4 * H, E + 1], concatFloats(perDirection.map(([kernel, recurrentKernel, bias]) => withResetColumn(gatesToOnnx(kernel, E, H), resetWeights(recurrentKernel, bias, H), E))));
    const R = float(`${lstm}/R`, [directions, 4 * H, H], concatFloats(perDirection.map(([, recurrentKernel]) => gatesToOnnx(recurrentKernel, H, H))));
    // ONNX has an input bias and a recurrent bias per gate (Wb, Rb); tfjs one: it goes in Wb, Rb stays 0.
    const B = float(`${lstm}/B`, [directions, 8 * H], concatFloats(perDirection.flatMap(([, , bias]) => [reorderBlocks(bias, H), new Float32Array(4 * H)])));
    nodes.push({
      op: 'LSTM',
      inputs: [sequence, W, R, B, I.rowLengths],
      outputs: [`${lstm}/y`],
      name: `${lstm}/cell`,
      // tfjs's defaults for this layer: recurrent activation hardSigmoid (clip(0.2x + 0.5, 0, 1)), tanh elsewhere.
      // ONNX lists the three activations once per direction; alpha/beta are consumed only by the activations
      // that take them (ONNX Runtime's reading), so one 0.2 / 0.5 pair per direction, for its HardSigmoid.
      attributes: {
        hidden_size: H,
        direction: c.bidirectional ? 'bidirectional' : 'forward',
        activations: Array.from({ length: directions }, () => ['HardSigmoid', 'Tanh', 'Tanh']).flat(),
        activation_alpha: { floats: new Array<number>(directions).fill(0.2) },
        activation_beta: { floats: new Array<number>(directions).fill(0.5) },
      },
    });
    // Y [T, directions, rows, H] as one row per (step, direction, row): each post's output is a row of it.
    const flat = node('Reshape', [`${lstm}/y`, int64(`${lstm}/flat_shape`, [-1, H])], `${lstm}/flat`);
    const forward = node('Gather', [flat, I.last], `${lstm}/last`);
    if (!c.bidirectional) return forward;
    // tfjs's default merge, concat: [forward, backward] per post.
    return node('Concat', [forward, node('Gather', [flat, I.first], `${lstm}/first`)], `${lstm}/concat`, { axis: 1 });
  };

  /** One member's towers (layer names `<base><sfx>`, see buildNetwork) → its fusion logits. */
  const member = (sfx: string): string => {
    const lstmOut = recurrent(sfx);
    const textParts = [node('Mul', [lstmOut, hasSteps], `${c.bidirectional ? 'text_bilstm' : 'text_lstm'}${sfx}`)];
    if (c.bowSize > 0) {
      const bowLayer = `text_bow_dense${sfx}`;
      const [bowKernel, bowBias] = weights(bowLayer);
      const rows = node('Gather', [float(`${bowLayer}/kernel`, [c.bowSize, c.bowUnits], bowKernel!), I.bowIndex], `${bowLayer}/rows`);
      const scaled = node('Mul', [rows, node('Unsqueeze', [I.bowValue, two], `${bowLayer}/value`)], `${bowLayer}/scaled`);
      const summed = node('ReduceSum', [scaled, one], `${bowLayer}/sum`, { keepdims: 0 });
      textParts.push(node('Relu', [node('Add', [summed, float(`${bowLayer}/bias`, [c.bowUnits], bowBias!)], `${bowLayer}/linear`)], bowLayer));
    }
    const textVector = textParts.length > 1 ? node('Concat', textParts, `text_concat${sfx}`, { axis: 1 }) : textParts[0]!;
    const textGated = node('Mul', [textVector, hasText], `text_gate${sfx}`);
    const imageGated = textOnly ? imageZeros : node('Mul', [dense(`image_dense${sfx}`, I.image, true), hasImage], `image_gate${sfx}`);
    const fused = node('Concat', [textGated, imageGated, I.presence], `fusion_concat${sfx}`, { axis: 1 });
    return dense(`logits${sfx}`, dense(`fusion_dense${sfx}`, fused, true), false);
  };
  const members = c.members ?? 1;
  const memberLogits = Array.from({ length: members }, (_, m) => member(memberSuffix(m, members)));
  // tfjs's Average layer is the element-wise mean: ONNX Mean.
  const fusionLogits = members === 1 ? memberLogits[0]! : node('Mean', memberLogits, MEMBERS_MEAN_LAYER);

  let logits = fusionLogits;
  if (!textOnly && (c.imageSkipHead || c.imageOnlyReadout)) {
    const skip = node('Mul', [dense(IMAGE_SKIP_LAYER, I.image, false), hasImage], 'image_skip_gate');
    if (c.imageOnlyReadout) {
      // 1 − hasImage·(1 − hasText): the fusion logits are off for image-only posts, which the read-out owns.
      const oneF = float('const/1f', [1], Float32Array.of(1));
      const imageOnly = node('Mul', [hasImage, node('Sub', [oneF, hasText], 'no_text')], 'image_only');
      const gated = node('Mul', [fusionLogits, node('Sub', [oneF, imageOnly], 'not_image_only')], 'fusion_not_image_only_gate');
      logits = node('Add', [gated, skip], IMAGE_ONLY_LAYER);
    } else {
      logits = node('Add', [fusionLogits, skip], 'logits_with_image_skip');
    }
  }
  nodes.push({ op: 'Identity', inputs: [logits], outputs: [FUSED_OUTPUT], name: FUSED_OUTPUT });

  const graph: Graph = {
    name: 'deep_sentiment',
    nodes,
    initializers,
    inputs: [
      { name: I.tokens, dataType: DataType.INT32, dims: ['steps', 'rows'] },
      { name: I.rowLengths, dataType: DataType.INT32, dims: ['rows'] },
      { name: I.last, dataType: DataType.INT64, dims: ['batch'] },
      ...(c.bidirectional ? [{ name: I.first, dataType: DataType.INT64, dims: ['batch'] }] : []),
      { name: I.steps, dataType: DataType.INT32, dims: ['batch'] },
      ...(c.bowSize > 0
        ? [
            { name: I.bowIndex, dataType: DataType.INT64, dims: ['batch', 'ngrams'] },
            { name: I.bowValue, dataType: DataType.FLOAT, dims: ['batch', 'ngrams'] },
          ]
        : []),
      ...(textOnly ? [] : [{ name: I.image, dataType: DataType.FLOAT, dims: ['batch', c.imageFeatureDim] }]),
      { name: I.presence, dataType: DataType.FLOAT, dims: ['batch', 2] },
    ],
    outputs: [{ name: FUSED_OUTPUT, dataType: DataType.FLOAT, dims: ['batch', c.classes] }],
  };
  return encodeModel(graph, { opset: OPSET, irVersion: IR_VERSION, producer: 'moodstream fused-graph', metadata: options.metadata ?? {} });
}

/** [in, 4H] tfjs kernel (gates i, f, c, o in column blocks) → [4H, in] ONNX weights (gates i, o, f, c in row blocks). */
function gatesToOnnx(kernel: Float32Array, inputs: number, H: number): Float32Array {
  const out = new Float32Array(4 * H * inputs);
  const order = [0, 3, 1, 2];
  order.forEach((gate, block) => {
    for (let u = 0; u < H; u++) {
      for (let k = 0; k < inputs; k++) out[(block * H + u) * inputs + k] = kernel[k * 4 * H + gate * H + u]!;
    }
  });
  return out;
}

/** The id of the reset step's row in the graph's word table: the one after the vocabulary's last word. */
export function resetId(vectors: Float32Array, embeddingDim: number): number {
  return vectors.length / embeddingDim;
}

/**
 * The reset column of one direction's input weights, in ONNX gate order (i, o, f, c): for the input and forget
 * gates of each unit, minus twice what brings the hard sigmoid to 0 (z ≤ −2.5) whatever the state: 2.5 plus the
 * bias's and the recurrent weights' absolute values (|h| < 1 for each of the H inputs); 0 for the other two gates.
 */
function resetWeights(recurrentKernel: Float32Array, bias: Float32Array, H: number): Float32Array {
  const column = new Float32Array(4 * H);
  // tfjs column blocks i, f, c, o; ONNX row blocks i (0), o (1), f (2), c (3).
  for (const [tfjsGate, onnxBlock] of [[0, 0], [1, 2]] as const) {
    for (let u = 0; u < H; u++) {
      let reach = 2.5 + Math.abs(bias[tfjsGate * H + u]!);
      for (let k = 0; k < H; k++) reach += Math.abs(recurrentKernel[k * 4 * H + tfjsGate * H + u]!);
      column[onnxBlock * H + u] = -2 * reach;
    }
  }
  return column;
}

/** [4H, E] weights plus one column → [4H, E + 1]. */
function withResetColumn(weights: Float32Array, column: Float32Array, E: number): Float32Array {
  const rows = column.length;
  const out = new Float32Array(rows * (E + 1));
  for (let r = 0; r < rows; r++) {
    out.set(weights.subarray(r * E, (r + 1) * E), r * (E + 1));
    out[r * (E + 1) + E] = column[r]!;
  }
  return out;
}

function reorderBlocks(bias: Float32Array, H: number): Float32Array {
  return Float32Array.from([0, 3, 1, 2].flatMap((gate) => Array.from(bias.subarray(gate * H, (gate + 1) * H))));
}

function concatFloats(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function bytesOf(array: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
