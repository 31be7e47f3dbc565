import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadDevDomains } from '../src/train/text-sources';

/** The dev splits average-weights and merge-members calibrate on: one domain per source that has one, in order. */
describe('loadDevDomains', () => {
  let data: string;

  before(async () => {
    data = await mkdtemp(path.join(tmpdir(), 'dev-domains-'));
    const write = async (source: string, split: string, rows: string[]) => {
      await mkdir(path.join(data, source), { recursive: true });
      await writeFile(path.join(data, source, `ekman6_${split}.tsv`), ['text\tlabel', ...rows].join('\n') + '\n');
    };
    await write('alpha', 'train', ['so glad\thappy', 'so sad\tsad']);
    await write('alpha', 'dev', ['glad again\thappy', 'grim\tsad', 'what a shock\tsurprised']);
    await write('beta', 'train', ['furious\tangry']);
    await write('beta', 'dev', ['livid\tangry']);
    await write('nodev', 'train', ['fine\thappy']);
  });

  after(async () => {
    await rm(data, { recursive: true, force: true });
  });

  it('keeps the sources with a dev split, in the order named, and says which it skipped', async () => {
    const lines: string[] = [];
    const domains = await loadDevDomains(data, 'beta, nodev,alpha,missing', (line) => lines.push(line));
    assert.deepEqual(
      domains.map((d) => [d.name, d.rows.length]),
      [
        ['beta', 1],
        ['alpha', 3],
      ],
    );
    assert.deepEqual(lines, [`source nodev: no dev split under ${data}, skipped`, `source missing: no dev split under ${data}, skipped`]);
  });

  it('refuses when no source has a dev split', async () => {
    await assert.rejects(loadDevDomains(data, 'nodev,missing', () => undefined), /no dev split under .*: nothing to calibrate on/);
  });
});
