import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyLog } from '../scripts/soak-latency';

// 110 posts/s for 2 hours, the dashboard counting each second's posts 1.2 s later, a sample every minute.
function drive(log: LatencyLog, minutes: number): { recent: number[][] } {
  const recent: number[][] = [];
  const start = 1_796_000_040_000; // a minute boundary
  for (let second = 0; second < minutes * 60; second++) {
    const now = start + second * 1000;
    const minuteStart = Math.floor(now / 60_000) * 60_000;
    log.sent(minuteStart, 110, now);
    log.seen(minuteStart, ((second % 60) + 1) * 110, now + 1_200);
    if ((second + 1) % 60 === 0) recent.push(log.takeRecent());
  }
  return { recent };
}

test('soak latency log: what it holds stays bounded over a long run (it lives in the process the soak measures)', () => {
  const log = new LatencyLog();
  drive(log, 20);
  const after20 = log.retained();
  drive(log, 100);
  // About ten minutes of send times, whatever the length of the run.
  assert.ok(log.retained() <= after20 && log.retained() <= 12 * 60 * 110, `${after20} entries after 20 minutes, ${log.retained()} after 120`);
});

test('soak latency log: per-sample and overall figures', () => {
  const log = new LatencyLog();
  const { recent } = drive(log, 5);
  assert.equal(recent.length, 5);
  for (const sample of recent) {
    assert.equal(sample.length, 60 * 110);
    assert.equal(sample[0], 1_200);
    assert.equal(sample.at(-1), 1_200);
  }
  assert.equal(log.counted(), 5 * 60 * 110);
  const p99 = log.quantile(0.99);
  assert.ok(p99 !== null && Math.abs(p99 - 1_200) <= 10, `p99 ${p99}`);
  assert.equal(new LatencyLog().quantile(0.99), null);
});
