/**
 * The file both native-training probes export (scripts/text-probe/probe.py `export`, scripts/generator-probe/train.py):
 * an 8-byte magic, a uint32 little-endian header length, a JSON header listing the tensors, then float32
 * little-endian data. Each probe checks its own header; this reads the frame and hands out tensors by name.
 */
import { ModelFormatError } from '@moodstream/model';

export interface ExportTensorEntry {
  name: string;
  shape: number[];
  /** In floats from the start of the data. */
  offset: number;
}

export interface ExportFrameHeader {
  format: string;
  run: string;
  tensors: ExportTensorEntry[];
}

export interface ExportFile<H extends ExportFrameHeader> {
  header: H;
  has(name: string): boolean;
  /** A tensor by name; with `shape`, refused unless it has exactly that shape. */
  tensor(name: string, shape?: readonly number[]): Float32Array;
}

export interface ExportKind {
  magic: string;
  format: string;
  /** Names the probe in errors ("text-probe", "generator-probe"). */
  tool: string;
}

export function readExportFile<H extends ExportFrameHeader>(buf: Buffer, kind: ExportKind): ExportFile<H> {
  const { magic, format, tool } = kind;
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== magic) throw new ModelFormatError(`not a ${tool} export (no ${magic} magic)`);
  const headerBytes = buf.readUInt32LE(8);
  if (12 + headerBytes > buf.length) throw new ModelFormatError(`${tool} export header says ${headerBytes} bytes, the file has ${buf.length - 12} after the magic`);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + headerBytes)) as H;
  if (header.format !== format) throw new ModelFormatError(`${tool} export format ${String(header.format)}, expected ${format}`);
  const dataStart = 12 + headerBytes;
  const floats = (buf.length - dataStart) / 4;
  // Copied out: the Buffer's offset need not be 4-byte aligned for a Float32Array view.
  const data = new Float32Array(floats);
  for (let i = 0; i < floats; i++) data[i] = buf.readFloatLE(dataStart + 4 * i);
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  return {
    header,
    has: (name) => byName.has(name),
    tensor(name, shape) {
      const t = byName.get(name);
      if (!t) throw new ModelFormatError(`${tool} export of ${header.run} has no tensor ${name}`);
      if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
        throw new ModelFormatError(`${tool} tensor ${name} is [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
      }
      const size = t.shape.reduce((a, b) => a * b, 1);
      if (t.offset + size > floats) throw new ModelFormatError(`${tool} tensor ${name} runs past the end of the file`);
      return data.subarray(t.offset, t.offset + size);
    },
  };
}
