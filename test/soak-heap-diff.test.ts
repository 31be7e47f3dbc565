import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeHeapSnapshot } from 'node:v8';
import { HeapGraph, readHeapSnapshot, totalsByGroup } from '../scripts/soak-heap-diff';

class SoakHeapDiffMarker {
  constructor(readonly n: number) {}
}

test('soak heap diff: reads two snapshots of this process, counts what was added between them and names its holder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'soak-heap-diff-'));
  const holder: { markers: SoakHeapDiffMarker[] } = { markers: [] };
  try {
    const before = new HeapGraph(readHeapSnapshot(writeHeapSnapshot(join(dir, 'before.heapsnapshot'))));
    for (let i = 0; i < 5_000; i++) holder.markers.push(new SoakHeapDiffMarker(i));
    const after = new HeapGraph(readHeapSnapshot(writeHeapSnapshot(join(dir, 'after.heapsnapshot'))));
    const group = 'object:SoakHeapDiffMarker';
    assert.equal(totalsByGroup(before).get(group)?.count ?? 0, 0);
    assert.equal(totalsByGroup(after).get(group)?.count, 5_000);
    const ids = new Set<number>();
    for (let n = 0; n < before.nodeCount; n++) ids.add(before.id(n));
    let marker = -1;
    for (let n = 0; n < after.nodeCount && marker < 0; n++) if (after.group(n) === group) marker = n;
    assert.ok(marker >= 0 && !ids.has(after.id(marker)), 'the marker is new: its id was not in the earlier snapshot');
    assert.match(after.chain(marker, 3), /\[#\] ← object:Array \.markers ← object:Object/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    holder.markers.length = 0;
  }
});
