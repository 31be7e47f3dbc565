import { readFile, writeFile } from 'node:fs/promises';
import { ModelFormatError } from '../errors';

/** Token id 0 pads sequences (masked out by the network); 1 stands for any unknown token. */
export const PAD_ID = 0;
export const UNKNOWN_ID = 1;
const MAGIC = 'MSVOCAB1';

/**
 * The word-vector subset shipped with a model: frozen GloVe vectors for the words the model may
 * meet (plus fixed pseudo-random vectors for emoji/emoticon tokens GloVe lacks). Stored as int8
 * with one float scale per row: 4x smaller than float32, cosine error far below GloVe's own noise.
 */
export class Vocabulary {
  readonly words: readonly string[];
  readonly dim: number;
  /** Row-major [size, dim] float32; rows 0 (pad) and 1 (unknown) included. */
  readonly vectors: Float32Array;
  private readonly index: Map<string, number>;

  constructor(words: readonly string[], dim: number, vectors: Float32Array) {
    if (words[PAD_ID] !== '<pad>' || words[UNKNOWN_ID] !== '<unk>') {
      throw new ModelFormatError('vocabulary must start with <pad>, <unk>');
    }
    if (vectors.length !== words.length * dim) throw new ModelFormatError('vocabulary vectors do not match its size');
    this.words = words;
    this.dim = dim;
    this.vectors = vectors;
    this.index = new Map(words.map((w, i) => [w, i]));
  }

  get size(): number {
    return this.words.length;
  }

  /** The id of a token, or UNKNOWN_ID. */
  id(token: string): number {
    return this.index.get(token) ?? UNKNOWN_ID;
  }

  has(token: string): boolean {
    return this.index.has(token);
  }

  /** Binary layout: magic, uint32 size, uint32 dim, uint32 wordBytes, UTF-8 words joined by \n, then per row float32 scale + dim int8. */
  encode(): Buffer {
    const wordBytes = Buffer.from(this.words.join('\n'), 'utf8');
    const rowBytes = 4 + this.dim;
    const out = Buffer.alloc(8 + 12 + wordBytes.length + this.size * rowBytes);
    out.write(MAGIC, 0, 'latin1');
    out.writeUInt32LE(this.size, 8);
    out.writeUInt32LE(this.dim, 12);
    out.writeUInt32LE(wordBytes.length, 16);
    wordBytes.copy(out, 20);
    let offset = 20 + wordBytes.length;
    for (let r = 0; r < this.size; r++) {
      let max = 0;
      for (let c = 0; c < this.dim; c++) max = Math.max(max, Math.abs(this.vectors[r * this.dim + c]!));
      const scale = max / 127;
      out.writeFloatLE(scale, offset);
      for (let c = 0; c < this.dim; c++) {
        const v = scale === 0 ? 0 : Math.round(this.vectors[r * this.dim + c]! / scale);
        out.writeInt8(Math.max(-127, Math.min(127, v)), offset + 4 + c);
      }
      offset += rowBytes;
    }
    return out;
  }

  static decode(buf: Buffer): Vocabulary {
    if (buf.length < 20 || buf.toString('latin1', 0, 8) !== MAGIC) throw new ModelFormatError('not a moodstream vocabulary file');
    const size = buf.readUInt32LE(8);
    const dim = buf.readUInt32LE(12);
    const wordBytes = buf.readUInt32LE(16);
    const expected = 20 + wordBytes + size * (4 + dim);
    if (buf.length !== expected) throw new ModelFormatError(`vocabulary file is ${buf.length} bytes, expected ${expected}`);
    const words = buf.toString('utf8', 20, 20 + wordBytes).split('\n');
    if (words.length !== size) throw new ModelFormatError('vocabulary word count mismatch');
    const vectors = new Float32Array(size * dim);
    let offset = 20 + wordBytes;
    for (let r = 0; r < size; r++) {
      const scale = buf.readFloatLE(offset);
      for (let c = 0; c < dim; c++) vectors[r * dim + c] = buf.readInt8(offset + 4 + c) * scale;
      offset += 4 + dim;
    }
    return new Vocabulary(words, dim, vectors);
  }

  async save(file: string): Promise<void> {
    await writeFile(file, this.encode());
  }

  static async load(file: string): Promise<Vocabulary> {
    return Vocabulary.decode(await readFile(file));
  }
}
