/**
 * Compares two V8 heap snapshots of one process (the soak's `SOAK_HEAP_SNAPSHOTS`) to find what grows: objects by
 * constructor (count and self size, before → after), and for the groups that grew most, what holds the objects that
 * are new in the later snapshot — the chain of retainers, grouped, up to a few levels.
 *
 * V8 gives an object the same id in every snapshot one process takes, so "new" is exact: in the later snapshot and
 * not in the earlier one. New objects that are still alive long after are what a leak is made of; the retainer
 * chains say who keeps them.
 *
 * Snapshots of a few hundred MB of heap are JSON files larger than V8's longest string, so they are read as bytes
 * and parsed here section by section, not with JSON.parse.
 */
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { exitWithUsageError, parseCommandLineOrExit } from '@moodstream/core';

const COMMAND = {
  command: 'node --import tsx scripts/soak-heap-diff.ts',
  summary: 'what grew between two heap snapshots of one process, by constructor, and what retains the new objects',
  options: {
    top: { type: 'number', integer: true, nonNegative: true, default: 30, description: 'constructor groups to list' },
    retainers: { type: 'number', integer: true, nonNegative: true, default: 5, description: 'growing groups whose new objects get retainer chains' },
    depth: { type: 'number', integer: true, nonNegative: true, default: 6, description: 'levels of retainers to follow' },
    group: { type: 'string', valueName: 'TYPE:NAME', multiple: true, description: 'also give retainer chains for this group (e.g. object:Promise)' },
  },
  usage: '[options] BEFORE.heapsnapshot AFTER.heapsnapshot',
  positionals: { valueName: 'BEFORE AFTER', description: 'two .heapsnapshot files of one process, the earlier first' },
  examples: ['node --max-old-space-size=8000 --import tsx scripts/soak-heap-diff.ts /tmp/soak-x-16min.heapsnapshot /tmp/soak-x-30min.heapsnapshot'],
  notes: 'Snapshots of a few hundred MB need a larger heap than the default: give node --max-old-space-size=8000, as in the example.',
} as const;

/** The parts of a snapshot this tool reads, in typed arrays. */
export interface HeapSnapshot {
  nodeFields: string[];
  nodeTypes: string[];
  edgeFields: string[];
  edgeTypes: string[];
  nodes: Uint32Array;
  edges: Uint32Array;
  strings: string[];
}

/** Reads a file sequentially, a chunk at a time, with one byte of look-ahead. */
class ByteReader {
  private readonly fd: number;
  private buffer = Buffer.alloc(1 << 22);
  private length = 0;
  private at = 0;
  private position = 0;

  readonly size: number;

  constructor(file: string) {
    this.fd = openSync(file, 'r');
    this.size = fstatSync(this.fd).size;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** The next byte, or -1 at the end of the file. */
  peek(): number {
    if (this.at >= this.length) {
      this.length = readSync(this.fd, this.buffer, 0, this.buffer.length, this.position);
      this.position += this.length;
      this.at = 0;
      if (this.length === 0) return -1;
    }
    return this.buffer[this.at] as number;
  }

  next(): number {
    const byte = this.peek();
    this.at++;
    return byte;
  }

  /** Skips to just after the next occurrence of `text` (ASCII). */
  skipPast(text: string): void {
    let matched = 0;
    for (;;) {
      const byte = this.next();
      if (byte === -1) throw new Error(`unexpected end of snapshot looking for ${text}`);
      matched = byte === text.charCodeAt(matched) ? matched + 1 : byte === text.charCodeAt(0) ? 1 : 0;
      if (matched === text.length) return;
    }
  }

  /** Raw bytes up to and including the bracket that closes the one just read (for the small meta object). */
  balanced(open: number, close: number): string {
    const bytes: number[] = [open];
    let level = 1;
    let inString = false;
    while (level > 0) {
      const byte = this.next();
      if (byte === -1) throw new Error('unexpected end of snapshot');
      bytes.push(byte);
      if (inString) {
        if (byte === 0x5c) bytes.push(this.next());
        else if (byte === 0x22) inString = false;
      } else if (byte === 0x22) inString = true;
      else if (byte === open) level++;
      else if (byte === close) level--;
    }
    return Buffer.from(bytes).toString('utf8');
  }

  /** A JSON array of non-negative integers, after its '[' was read. */
  numbers(sizeHint: number): Uint32Array {
    let out = new Uint32Array(Math.max(16, sizeHint));
    let count = 0;
    let value = 0;
    let inNumber = false;
    for (;;) {
      const byte = this.next();
      if (byte >= 0x30 && byte <= 0x39) {
        value = value * 10 + (byte - 0x30);
        inNumber = true;
        continue;
      }
      if (inNumber) {
        if (count === out.length) {
          const grown = new Uint32Array(out.length * 2);
          grown.set(out);
          out = grown;
        }
        out[count++] = value;
        value = 0;
        inNumber = false;
      }
      if (byte === 0x5d) return out.subarray(0, count);
      if (byte === -1) throw new Error('unexpected end of snapshot in a number array');
    }
  }

  /** A JSON array of strings, after its '[' was read; each string is decoded by JSON.parse on its own. */
  strings(): string[] {
    const out: string[] = [];
    let inString = false;
    let chunk = Buffer.alloc(1 << 16);
    let used = 0;
    for (;;) {
      const byte = this.next();
      if (byte === -1) throw new Error('unexpected end of snapshot in the strings');
      if (!inString) {
        if (byte === 0x5d) return out;
        if (byte !== 0x22) continue;
        inString = true;
        used = 0;
        chunk[used++] = 0x22;
        continue;
      }
      if (used + 2 >= chunk.length) {
        const grown = Buffer.alloc(chunk.length * 2);
        chunk.copy(grown, 0, 0, used);
        chunk = grown;
      }
      chunk[used++] = byte;
      if (byte === 0x5c) chunk[used++] = this.next();
      else if (byte === 0x22) {
        out.push(JSON.parse(chunk.toString('utf8', 0, used)) as string);
        inString = false;
      }
    }
  }
}

export function readHeapSnapshot(file: string): HeapSnapshot {
  const reader = new ByteReader(file);
  const size = reader.size;
  try {
    reader.skipPast('"snapshot"');
    reader.skipPast(':');
    while (reader.peek() !== 0x7b) reader.next();
    reader.next();
    const header = JSON.parse(reader.balanced(0x7b, 0x7d)) as {
      meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
      node_count: number;
      edge_count: number;
    };
    const { meta } = header;
    reader.skipPast('"nodes"');
    reader.skipPast('[');
    const nodes = reader.numbers(header.node_count * meta.node_fields.length || size / 16);
    reader.skipPast('"edges"');
    reader.skipPast('[');
    const edges = reader.numbers(header.edge_count * meta.edge_fields.length || size / 8);
    reader.skipPast('"strings"');
    reader.skipPast('[');
    const strings = reader.strings();
    return { nodeFields: meta.node_fields, nodeTypes: meta.node_types[0], edgeFields: meta.edge_fields, edgeTypes: meta.edge_types[0], nodes, edges, strings };
  } finally {
    reader.close();
  }
}

/** Index helpers over one snapshot: node i is nodes[i * nodeFieldCount …]. */
export class HeapGraph {
  readonly nodeCount: number;
  private readonly nf: number;
  private readonly ef: number;
  private readonly iType: number;
  private readonly iName: number;
  private readonly iId: number;
  private readonly iSize: number;
  private readonly iEdgeCount: number;
  /** First edge (index into edges / ef) of each node. */
  private readonly firstEdge: Uint32Array;
  private retainerIndex: { first: Uint32Array; from: Uint32Array; edge: Uint32Array } | null = null;

  constructor(readonly snapshot: HeapSnapshot) {
    this.nf = snapshot.nodeFields.length;
    this.ef = snapshot.edgeFields.length;
    this.iType = snapshot.nodeFields.indexOf('type');
    this.iName = snapshot.nodeFields.indexOf('name');
    this.iId = snapshot.nodeFields.indexOf('id');
    this.iSize = snapshot.nodeFields.indexOf('self_size');
    this.iEdgeCount = snapshot.nodeFields.indexOf('edge_count');
    this.nodeCount = snapshot.nodes.length / this.nf;
    this.firstEdge = new Uint32Array(this.nodeCount + 1);
    for (let n = 0, e = 0; n < this.nodeCount; n++) {
      this.firstEdge[n] = e;
      e += snapshot.nodes[n * this.nf + this.iEdgeCount] as number;
      this.firstEdge[n + 1] = e;
    }
  }

  type(n: number): string {
    return this.snapshot.nodeTypes[this.snapshot.nodes[n * this.nf + this.iType] as number] ?? '?';
  }

  id(n: number): number {
    return this.snapshot.nodes[n * this.nf + this.iId] as number;
  }

  selfSize(n: number): number {
    return this.snapshot.nodes[n * this.nf + this.iSize] as number;
  }

  /** `type:constructor` for objects, closures and natives; `(type)` for strings, arrays, code and the rest. */
  group(n: number): string {
    const type = this.type(n);
    if (type === 'object' || type === 'closure' || type === 'native') {
      const name = this.snapshot.strings[this.snapshot.nodes[n * this.nf + this.iName] as number] ?? '?';
      return `${type}:${name.length > 60 ? `${name.slice(0, 60)}…` : name}`;
    }
    return `(${type})`;
  }

  private edgeLabel(edge: number): string {
    const e = edge * this.ef;
    const type = this.snapshot.edgeTypes[this.snapshot.edges[e] as number] ?? '?';
    const nameOrIndex = this.snapshot.edges[e + 1] as number;
    if (type === 'element' || type === 'hidden') return `[${type === 'element' ? '#' : 'h'}]`;
    // Hash-table slots are internal edges named by number: one label for all of them, so chains group.
    const raw = this.snapshot.strings[nameOrIndex] ?? '?';
    const name = /^\d+$/.test(raw) ? '#' : raw;
    return type === 'context' ? `ctx.${name}` : type === 'internal' ? `<${name}>` : `.${name}`;
  }

  private edgeIsWeak(edge: number): boolean {
    const type = this.snapshot.edgeTypes[this.snapshot.edges[edge * this.ef] as number];
    return type === 'weak' || type === 'shortcut';
  }

  private retainers(): { first: Uint32Array; from: Uint32Array; edge: Uint32Array } {
    if (this.retainerIndex !== null) return this.retainerIndex;
    const edgeCount = this.snapshot.edges.length / this.ef;
    const counts = new Uint32Array(this.nodeCount + 1);
    for (let e = 0; e < edgeCount; e++) counts[(this.snapshot.edges[e * this.ef + 2] as number) / this.nf]!++;
    const first = new Uint32Array(this.nodeCount + 1);
    for (let n = 0; n < this.nodeCount; n++) first[n + 1] = (first[n] as number) + (counts[n] as number);
    const fill = first.slice();
    const from = new Uint32Array(edgeCount);
    const edge = new Uint32Array(edgeCount);
    for (let n = 0; n < this.nodeCount; n++) {
      for (let e = this.firstEdge[n] as number; e < (this.firstEdge[n + 1] as number); e++) {
        const to = (this.snapshot.edges[e * this.ef + 2] as number) / this.nf;
        const slot = fill[to]!++;
        from[slot] = n;
        edge[slot] = e;
      }
    }
    this.retainerIndex = { first, from, edge };
    return this.retainerIndex;
  }

  /** Whether a holder says something about who keeps an object: not a `(system)`, `(hidden)` or other V8 internal. */
  private informative(n: number): boolean {
    const type = this.type(n);
    return (type === 'object' || type === 'closure' || type === 'native') && !this.group(n).startsWith('object:system');
  }

  /**
   * A retainer chain of `n`, `depth` levels up: at each level the first strong retainer that is not already on the
   * chain, preferring one outside V8's internals (a `(system)` or `(hidden)` holder says little).
   */
  chain(n: number, depth: number): string {
    const index = this.retainers();
    const parts: string[] = [];
    const onChain = new Set([n]);
    let current = n;
    for (let level = 0; level < depth; level++) {
      let pick = -1;
      let pickEdge = -1;
      for (let r = index.first[current] as number; r < (index.first[current + 1] as number); r++) {
        const from = index.from[r] as number;
        const edge = index.edge[r] as number;
        if (this.edgeIsWeak(edge) || onChain.has(from)) continue;
        if (pick === -1 || (this.informative(from) && !this.informative(pick))) {
          pick = from;
          pickEdge = edge;
        }
      }
      if (pick === -1) break;
      parts.push(`${this.edgeLabel(pickEdge)} ← ${this.group(pick)}`);
      onChain.add(pick);
      current = pick;
    }
    return parts.join(' ');
  }
}

interface GroupTotals {
  count: number;
  size: number;
}

export function totalsByGroup(graph: HeapGraph): Map<string, GroupTotals> {
  const totals = new Map<string, GroupTotals>();
  for (let n = 0; n < graph.nodeCount; n++) {
    const key = graph.group(n);
    const entry = totals.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += graph.selfSize(n);
    totals.set(key, entry);
  }
  return totals;
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(2);

function main(): void {
  const { values, positionals } = parseCommandLineOrExit(COMMAND);
  const [beforeFile, afterFile] = positionals;
  if (beforeFile === undefined || afterFile === undefined || positionals.length !== 2) {
    exitWithUsageError(COMMAND, 'give two .heapsnapshot files, the earlier first');
  }
  const before = new HeapGraph(readHeapSnapshot(beforeFile));
  const beforeTotals = totalsByGroup(before);
  const beforeIds = new Set<number>();
  for (let n = 0; n < before.nodeCount; n++) beforeIds.add(before.id(n));
  const after = new HeapGraph(readHeapSnapshot(afterFile));
  const afterTotals = totalsByGroup(after);

  const sum = (totals: Map<string, GroupTotals>): number => [...totals.values()].reduce((s, t) => s + t.size, 0);
  console.log(`self size: ${mb(sum(beforeTotals))} → ${mb(sum(afterTotals))} MB (${before.nodeCount} → ${after.nodeCount} objects)`);
  const rows = [...new Set([...beforeTotals.keys(), ...afterTotals.keys()])].map((key) => {
    const b = beforeTotals.get(key) ?? { count: 0, size: 0 };
    const a = afterTotals.get(key) ?? { count: 0, size: 0 };
    return { key, dCount: a.count - b.count, dSize: a.size - b.size, size: a.size };
  });
  rows.sort((x, y) => y.dSize - x.dSize);
  console.log('\n  Δ MB     Δ count    after MB  group');
  for (const row of rows.slice(0, values.top)) {
    console.log(`${mb(row.dSize).padStart(8)} ${String(row.dCount).padStart(10)} ${mb(row.size).padStart(10)}  ${row.key}`);
  }

  // New objects (ids absent before), grouped by constructor, then by retainer chain.
  const fresh = new Map<string, number[]>();
  for (let n = 0; n < after.nodeCount; n++) {
    if (beforeIds.has(after.id(n))) continue;
    const key = after.group(n);
    let list = fresh.get(key);
    if (list === undefined) fresh.set(key, (list = []));
    list.push(n);
  }
  const freshSize = (list: number[]): number => list.reduce((s, n) => s + after.selfSize(n), 0);
  const wanted = new Set([...rows.filter((r) => r.dSize > 0).slice(0, values.retainers).map((r) => r.key), ...(values.group ?? [])]);
  for (const key of wanted) {
    const list = fresh.get(key) ?? [];
    console.log(`\n${key}: ${list.length} new objects, ${mb(freshSize(list))} MB; retainer chains of the new ones:`);
    const chains = new Map<string, { count: number; size: number }>();
    // A sample is enough to rank the chains; every object would take minutes on millions.
    const step = Math.max(1, Math.floor(list.length / 20_000));
    for (let i = 0; i < list.length; i += step) {
      const n = list[i] as number;
      const chain = after.chain(n, values.depth);
      const entry = chains.get(chain) ?? { count: 0, size: 0 };
      entry.count += step;
      entry.size += after.selfSize(n) * step;
      chains.set(chain, entry);
    }
    for (const [chain, entry] of [...chains].sort((x, y) => y[1].size - x[1].size).slice(0, 8)) {
      console.log(`  ${mb(entry.size).padStart(7)} MB ${String(entry.count).padStart(8)}  ${chain || '(no strong retainer)'}`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
