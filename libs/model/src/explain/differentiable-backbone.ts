import * as tf from '@tensorflow/tfjs';
import { ModelFormatError } from '../errors';
import { nsfwModelHandler } from '../image/nsfw-shards';
import { releaseWasmInputGradients } from './wasm-input-gradients';

/** The penultimate (global-pool) node of nsfwjs's MobileNetV2 graph: the features ImageBackbone gives the model. */
const FEATURE_NODE_SUFFIX = '/feature_vector/SpatialSqueeze';

/**
 * The tfjs graph of a graph backbone (mobilenet_v2_mid) kept as tensors in, tensors out, so gradients flow from
 * the emotion model back to the pixels. ImageBackbone is the scoring path (uint8 in, arrays out, maybe ONNX
 * Runtime); this one exists for class visualisation only and reads the same nsfwjs files.
 */
export class DifferentiableBackbone {
  private constructor(
    private readonly graph: tf.GraphModel,
    private readonly featureNode: string,
    readonly inputSize: number,
  ) {}

  static async load(id: string): Promise<DifferentiableBackbone> {
    const artifacts = await nsfwModelHandler(id).load!();
    const nodes = ((artifacts.modelTopology as { node?: Array<{ name: string }> } | undefined)?.node ?? []).map((n) => n.name);
    const featureNode = nodes.find((n) => n.endsWith(FEATURE_NODE_SUFFIX));
    if (featureNode === undefined) {
      throw new ModelFormatError(`backbone ${id} is not a graph with a ${FEATURE_NODE_SUFFIX} node: class visualisation supports mobilenet_v2_mid`);
    }
    const graph = await tf.loadGraphModel({ load: async () => ({ ...artifacts, modelTopology: unfused(artifacts.modelTopology as GraphDef) }) });
    const shape = graph.inputs[0]?.shape ?? [];
    return new DifferentiableBackbone(graph, featureNode, shape[1] !== undefined && shape[1] > 0 ? shape[1] : 224);
  }

  /** Features [n, featureDim] of images [n, size, size, 3] as floats in 0..1 (nsfwjs's scaling). */
  features(images: tf.Tensor4D): tf.Tensor2D {
    return this.graph.execute(images, this.featureNode) as tf.Tensor2D;
  }

  dispose(): void {
    this.graph.dispose();
    releaseWasmInputGradients();
  }
}

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown> & { fused_ops?: { list?: { s?: string[] } } };
}
type GraphDef = { node: GraphNode[] } & Record<string, unknown>;

const FUSED_CONV: Record<string, string> = { _FusedConv2D: 'Conv2D', FusedDepthwiseConv2dNative: 'DepthwiseConv2dNative' };

/**
 * The same graph with every fused convolution split into convolution → BiasAdd → activation. tfjs's gradient of a
 * fused convolution computes the filter gradient eagerly (a kernel the wasm backend lacks, and work nobody needs:
 * the filters are frozen); the plain ops compute only the input gradient asked for. Forward values are unchanged.
 */
function unfused(graph: GraphDef): GraphDef {
  const node: GraphNode[] = [];
  for (const n of graph.node) {
    const plain = FUSED_CONV[n.op];
    if (plain === undefined) {
      node.push(n);
      continue;
    }
    const ops = (n.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString());
    const [x, w, bias] = n.input ?? [];
    const { fused_ops: _f, num_args: _n, epsilon: _e, ...attr } = n.attr ?? {};
    const activation = ops.find((o) => o !== 'BiasAdd');
    const convName = `${n.name}/unfused_conv`;
    const biasName = activation === undefined ? n.name : `${n.name}/unfused_bias`;
    node.push({ name: convName, op: plain, input: [x!, w!], attr });
    node.push({ name: biasName, op: 'BiasAdd', input: [convName, bias!], attr: { T: attr['T'], data_format: attr['data_format'] } });
    if (activation !== undefined) node.push({ name: n.name, op: activation, input: [biasName], attr: { T: attr['T'] } });
  }
  return { ...graph, node };
}
