import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HELP, parseCli } from '../src/cli';
import { IngesterConfigSchema } from '../src/config';

test('--help documents every mode, every flag and every environment variable', () => {
  for (const mode of ['live', 'backfill', 'archive']) assert.match(HELP, new RegExp(`^  ${mode}\\b`, 'm'), mode);
  for (const flag of ['--tag', '--from', '--to', '--file', '--speed', '--record', '--help']) assert.ok(HELP.includes(flag), flag);
  const shape = (IngesterConfigSchema as unknown as { _def: { shape: () => Record<string, unknown> } })._def.shape();
  for (const variable of Object.keys(shape)) assert.ok(HELP.includes(variable), `HELP mentions ${variable}`);
  assert.equal(parseCli(['--help']).help, true);
});

test('modes and their arguments are parsed, bad ones refused with a readable message', () => {
  assert.deepEqual(parseCli(['live', '--tag', '#WorldCup', '--tag', 'a,b']).run, { mode: 'live', tags: ['worldcup', 'a', 'b'] });
  assert.deepEqual(parseCli(['backfill', '--tag', 'happy', '--from', '2026-11-01T00:00:00Z', '--to', '2026-11-02T00:00:00Z']).run, {
    mode: 'backfill',
    tags: ['happy'],
    from: Date.parse('2026-11-01T00:00:00Z'),
    to: Date.parse('2026-11-02T00:00:00Z'),
  });
  assert.deepEqual(parseCli(['archive', '--file', 'x.ndjson', '--speed', 'max', '--record', 'out.ndjson']), { run: { mode: 'archive', file: 'x.ndjson', speed: 'max' }, record: 'out.ndjson', help: false });
  assert.equal((parseCli(['archive', '--file', 'x', '--speed', '4']).run as { speed: number }).speed, 4);
  for (const [argv, message] of [
    [[], /exactly one mode/],
    [['sideways'], /unknown mode/],
    [['backfill', '--from', '2026-01-01'], /needs --tag/],
    [['backfill', '--tag', 'x'], /needs --from/],
    [['backfill', '--tag', 'x', '--from', 'yesterday'], /ISO date/],
    [['backfill', '--tag', 'x', '--from', '2026-02-01', '--to', '2026-01-01'], /after --from/],
    [['archive'], /needs --file/],
    [['archive', '--file', 'x', '--speed', '0'], /positive number/],
    [['live', '--bogus'], /unknown option '--bogus'/],
    [['live', '--tag'], /--tag needs a value/],
  ] as [string[], RegExp][]) {
    assert.throws(() => parseCli(argv), (e: unknown) => (e as Error).name === 'ConfigError' && message.test((e as Error).message), argv.join(' '));
  }
});
