/**
 * Just enough of onnx.proto (ModelProto and what it holds) to write an inference graph: ONNX Runtime reads the
 * bytes. Field numbers are onnx.proto's (proto2, repeated scalars written unpacked, which every parser accepts).
 * The output depends only on the graph given, so the same weights always give the same bytes.
 */

export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

export interface Tensor {
  name: string;
  dataType: DataTypeId;
  dims: readonly number[];
  /** Little-endian element bytes (a Float32Array, Int32Array or BigInt64Array's buffer). */
  raw: Uint8Array;
}

export type AttributeValue = number | string | readonly number[] | readonly string[] | { float: number } | { floats: readonly number[] };

export interface Node {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attributes?: Record<string, AttributeValue>;
}

export interface ValueInfo {
  name: string;
  dataType: DataTypeId;
  /** A number is a fixed size, a string a named dynamic one ('batch'). */
  dims: readonly (number | string)[];
}

export interface Graph {
  name: string;
  nodes: readonly Node[];
  initializers: readonly Tensor[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
}

export interface ModelMeta {
  opset: number;
  irVersion: number;
  producer: string;
  /** ModelProto.metadata_props. */
  metadata?: Record<string, string>;
}

/** Serialises a ModelProto. */
export function encodeModel(graph: Graph, meta: ModelMeta): Uint8Array {
  const w = new Writer();
  w.int(1, meta.irVersion);
  w.string(2, meta.producer);
  w.message(7, encodeGraph(graph));
  w.message(8, new Writer().string(1, '').int(2, meta.opset).bytes());
  for (const [key, value] of Object.entries(meta.metadata ?? {})) w.message(14, new Writer().string(1, key).string(2, value).bytes());
  return w.bytes();
}

function encodeGraph(graph: Graph): Uint8Array {
  const w = new Writer();
  for (const node of graph.nodes) w.message(1, encodeNode(node));
  w.string(2, graph.name);
  for (const tensor of graph.initializers) w.message(5, encodeTensor(tensor));
  for (const input of graph.inputs) w.message(11, encodeValueInfo(input));
  for (const output of graph.outputs) w.message(12, encodeValueInfo(output));
  return w.bytes();
}

function encodeNode(node: Node): Uint8Array {
  const w = new Writer();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name);
  w.string(4, node.op);
  for (const [name, value] of Object.entries(node.attributes ?? {})) w.message(5, encodeAttribute(name, value));
  return w.bytes();
}

// AttributeProto.AttributeType
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

function encodeAttribute(name: string, value: AttributeValue): Uint8Array {
  const w = new Writer().string(1, name);
  if (typeof value === 'number') return w.int(3, value).int(20, ATTR.INT).bytes();
  if (typeof value === 'string') return w.string(4, value).int(20, ATTR.STRING).bytes();
  if ('float' in value) return w.float(2, value.float).int(20, ATTR.FLOAT).bytes();
  if ('floats' in value) {
    for (const f of value.floats) w.float(7, f);
    return w.int(20, ATTR.FLOATS).bytes();
  }
  if (value.every((v) => typeof v === 'string')) {
    for (const s of value as readonly string[]) w.string(9, s);
    return w.int(20, ATTR.STRINGS).bytes();
  }
  for (const i of value as readonly number[]) w.int(8, i);
  return w.int(20, ATTR.INTS).bytes();
}

function encodeTensor(tensor: Tensor): Uint8Array {
  const w = new Writer();
  for (const d of tensor.dims) w.int(1, d);
  w.int(2, tensor.dataType);
  w.string(8, tensor.name);
  w.byteField(9, tensor.raw);
  return w.bytes();
}

function encodeValueInfo(info: ValueInfo): Uint8Array {
  const shape = new Writer();
  for (const d of info.dims) shape.message(1, typeof d === 'number' ? new Writer().int(1, d).bytes() : new Writer().string(2, d).bytes());
  const tensorType = new Writer().int(1, info.dataType).message(2, shape.bytes()).bytes();
  return new Writer().string(1, info.name).message(2, new Writer().message(1, tensorType).bytes()).bytes();
}

/** Protobuf wire format: varints (wire type 0), fixed32 (5) and length-delimited fields (2). */
class Writer {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  int(field: number, value: number): this {
    this.tag(field, 0);
    this.varint(BigInt.asUintN(64, BigInt(value)));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.byteField(field, new TextEncoder().encode(value));
  }

  message(field: number, bytes: Uint8Array): this {
    return this.byteField(field, bytes);
  }

  byteField(field: number, bytes: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(bytes.length));
    this.push(bytes);
    return this;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  private tag(field: number, wireType: number): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  private varint(value: bigint): void {
    const out: number[] = [];
    let v = value;
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      out.push(byte);
    } while (v > 0n);
    this.push(Uint8Array.from(out));
  }

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }
}
