/**
 * Every command answers --help and refuses a wrong flag readably (libs/core/src/cli-args.ts): a handful of the real
 * CLIs run as processes, and a scan that no command parses its arguments with node:util parseArgs by itself.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { createLimit } from '@moodstream/core';
import { REPO_ROOT } from '../scripts/start/paths';

/**
 * Script, and the command as its help and errors name it: one per kind (app, lib bin, lib script, model CLI, bench),
 * ~1.5 s of CPU each. `npm start` (3.8 s) has the same checks in test/start.int.test.ts.
 */
const COMMANDS: [script: string, command: string][] = [
  ['apps/ingester/src/main.ts', 'npm run ingest'],
  ['libs/trends/src/bin/replay.ts', 'npm run replay'],
  ['libs/tumblr/scripts/standin.ts', 'npm run standin'],
  ['libs/model/src/cli/eval.ts', 'npm run eval'],
  ['bench/alerts.ts', 'npm run bench:alerts'],
];

/** Commands still parsing their own flags, to be moved onto cli-args next (none left). */
const NOT_YET_MIGRATED = new Set<string>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // No services are needed: --help and a bad flag are answered before any configuration is read.
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT, env: { ...process.env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const hintOf = (command: string): string => `Try '${command.startsWith('npm ') ? `${command} --` : command} --help'.`;

describe('command-line interfaces', () => {
  // Two at a time (two cores); each process is a tsx start-up, ~1–2 s.
  const limit = createLimit(2);
  const runs = new Map(COMMANDS.flatMap(([script]) => [[`${script} help`, limit.run(() => run(script, ['--help']))], [`${script} bogus`, limit.run(() => run(script, ['--no-such-flag', 'x']))]] as const));

  for (const [script, command] of COMMANDS) {
    it(`${command} --help prints its usage on stdout and exits 0`, async () => {
      const r = await runs.get(`${script} help`)!;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^${escape(command)} — `), 'starts with the command and its summary');
      assert.match(r.stdout, new RegExp(`\\nusage: ${escape(command)}`));
      assert.match(r.stdout, /\n {2}-h, --help +print this help and exit\n/);
      assert.match(r.stdout, /\nexit status: /);
    });

    it(`${command} with an unknown flag says so in two lines on stderr and exits 2`, async () => {
      const r = await runs.get(`${script} bogus`)!;
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `${command}: unknown option '--no-such-flag'\n${hintOf(command)}\n`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    });
  }

  it('no command parses its arguments with node:util parseArgs by itself', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
        const full = join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.ts') && /\bparseArgs\b[^;]*from 'node:util'|from 'node:util';?[^\n]*\bparseArgs\b/.test(readFileSync(full, 'utf8'))) offenders.push(relative(REPO_ROOT, full));
      }
    };
    for (const top of ['apps', 'libs', 'scripts', 'bench', 'test']) walk(join(REPO_ROOT, top));
    const unexpected = offenders.filter((f) => f !== 'libs/core/src/cli-args.ts' && !NOT_YET_MIGRATED.has(f));
    assert.deepEqual(unexpected, [], 'use parseCommandLineOrExit from @moodstream/core (DEVELOPERS.md, "Adding a command")');
  });
});
