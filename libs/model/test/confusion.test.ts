import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EMOTIONS } from '@moodstream/events';
import { loadConfusion } from '../src/confusion';
import { ModelFormatError } from '../src/errors';

test('loadConfusion reads a valid file and rejects a malformed one', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'moodstream-confusion-'));
  try {
    const matrix = EMOTIONS.map((_, i) => EMOTIONS.map((__, j) => (i === j ? 10 : 1)));
    await writeFile(path.join(dir, 'confusion.json'), JSON.stringify({ labels: [...EMOTIONS], matrix, source: 'test' }));
    const c = await loadConfusion(dir);
    assert.deepEqual(c.matrix, matrix);
    await writeFile(path.join(dir, 'confusion.json'), JSON.stringify({ labels: [...EMOTIONS].reverse(), matrix, source: 'x' }));
    await assert.rejects(loadConfusion(dir), ModelFormatError);
    await writeFile(path.join(dir, 'confusion.json'), JSON.stringify({ labels: [...EMOTIONS], matrix: [[1]], source: 'x' }));
    await assert.rejects(loadConfusion(dir), ModelFormatError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
