import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { discoverTests, parseTapSummary, testKind } from '../scripts/test';

test('test files are found in libs/*/test, apps/*/test, scripts/ and test/, unit first, e2e last', () => {
  const root = mkdtempSync(join(tmpdir(), 'moodstream-discover-'));
  try {
    const files = [
      'libs/bus/test/memory-bus.test.ts',
      'libs/bus/test/kafka-bus.int.test.ts',
      'libs/bus/test/contract.ts',
      'libs/bus/src/not-a-test.test.ts',
      'apps/scorer/test/nested/batcher.test.ts',
      'test/e2e/dashboard.e2e.test.ts',
      'test/compose.test.ts',
      'libs/bus/test/node_modules/x.test.ts',
      'scripts/text-probe/probe-export.test.ts',
      'scripts/.tsbuild/stale.test.ts',
    ];
    for (const file of files) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), '');
    }
    assert.deepEqual(discoverTests(root), [
      'apps/scorer/test/nested/batcher.test.ts',
      'libs/bus/test/memory-bus.test.ts',
      'scripts/text-probe/probe-export.test.ts',
      'test/compose.test.ts',
      'libs/bus/test/kafka-bus.int.test.ts',
      'test/e2e/dashboard.e2e.test.ts',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('test kinds follow the file suffix', () => {
  assert.equal(testKind('a/b.test.ts'), 'unit');
  assert.equal(testKind('a/b.int.test.ts'), 'integration');
  assert.equal(testKind('test/e2e/b.e2e.test.ts'), 'e2e');
});

test('totals are read from the TAP summary, and a missing summary is not a pass', () => {
  const tap = ['TAP version 13', 'ok 1 - a', '# tests 7', '# suites 1', '# pass 5', '# fail 1', '# cancelled 1', '# skipped 2', '# todo 0', '# duration_ms 12'].join('\n');
  assert.deepEqual(parseTapSummary(tap), { passed: 5, failed: 1, skipped: 2, cancelled: 1, todo: 0 });
  assert.equal(parseTapSummary('TAP version 13\nok 1 - a\n'), null);
});
