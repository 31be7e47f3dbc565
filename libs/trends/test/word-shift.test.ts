import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createLogger, VirtualClock } from '@moodstream/core';
import { AlertSchema, EMOTIONS, type Alert } from '@moodstream/events';
import { MICRO, type BucketStats } from '../src/bucket';
import { trendsConfig } from '../src/config';
import { liveRetention, TrendsEngine } from '../src/engine';
import { createMemoryTrendsStore } from '../src/memory-store';
import { liveTopicsOf, planWrites } from '../src/plan';
import { LIVE_NAMESPACE, type BucketRef, type Retention } from '../src/store';
import { computeWordShift, mergeTables, planWordShift, type TermTable } from '../src/word-shift';
import { createMemoryWordShiftStore } from '../src/word-shift-memory';
import { readWordShift } from '../src/word-shift-query';
import { splitUnits, tagTerms, termKind, textTerms } from '../src/word-shift-terms';
import { T0 } from './fixtures';
import { feed, SCARED, SPIKE_TOPIC } from './scenarios';
import { PLANTED, postOf, postSpec, textedSpikeStream, wordShiftStoreContract } from './word-shift-contract';

const DAY = 86_400_000;
const RETENTION: Retention = { bucketTtlMs: { '1m': DAY, '5m': DAY, '1h': DAY, '1d': DAY }, seenTtlMs: DAY, examplesPerBucket: 3 };

wordShiftStoreContract('memory', async () => ({ store: createMemoryWordShiftStore(), cleanup: async () => undefined }));

describe('word-shift terms', () => {
  it('takes distinct words and emoji in order, lower-cased, without stop words or the bare apostrophe', () => {
    assert.deepEqual(textTerms("The STORM is coming, I'm so scared 😱😱 of the storm's thunder — isn't it?"), ['storm', 'coming', 'scared', '😱', "storm's", 'thunder', "isn't"]);
    assert.deepEqual(textTerms('🌧️ rain\u200D'), ['🌧️', 'rain']);
    assert.deepEqual(textTerms('a I . 42 !!'), []);
    assert.equal(textTerms(Array.from({ length: 60 }, (_, i) => `word${i}x`).join(' ')).length, 24);
  });

  it('names co-occurring topics as tags and tells the kinds apart', () => {
    assert.deepEqual(tagTerms({ topics: ['storm-watch', 'festival'] }, 'storm-watch'), ['#festival']);
    assert.deepEqual(tagTerms({ topics: ['storm-watch', 'festival'] }, 'all'), ['#storm-watch', '#festival']);
    assert.deepEqual(['#festival', '😱', 'storm'].map(termKind), ['tag', 'emoji', 'word']);
  });

  it('splits integer units exactly', () => {
    for (const [total, k] of [[1_000_000, 3], [7, 7], [5, 8], [0, 4]] as const) {
      const parts = Array.from({ length: k }, (_, i) => splitUnits(total, k, i));
      assert.equal(parts.reduce((a, b) => a + b, 0), total);
      assert.ok(Math.max(...parts) - Math.min(...parts) <= 1);
    }
  });
});

/** A table from {term: [weight, emotion mass]} in whole posts, emotion at index `e`. */
function table(entries: Record<string, [number, number]>, e: number, other: [number, number] = [0, 0]): TermTable {
  const mass = ([weight, emotion]: [number, number]): number[] => {
    const out = new Array<number>(7).fill(0);
    out[0] = weight * MICRO;
    out[1 + e] = emotion * MICRO;
    return out;
  };
  return { terms: new Map(Object.entries(entries).map(([term, value]) => [term, mass(value)])), other: mass(other), complete: true };
}

describe('computeWordShift', () => {
  it('splits a hand-worked shift into frequency and association parts that sum to the share difference', () => {
    // Baseline: 2 posts, "calm" (p=0.1) and "storm" (p=0.3): Φ^B = 0.2. Window: 2 × "storm" at 0.9 and 1 × "calm" at 0.3: Φ^W = 0.7.
    const s = SCARED;
    const shift = computeWordShift(table({ storm: [2, 1.8], calm: [1, 0.3] }, s), table({ storm: [1, 0.3], calm: [1, 0.1] }, s), s, 10);
    assert.ok(Math.abs(shift.windowShare - 0.7) < 1e-12 && Math.abs(shift.baselineShare - 0.2) < 1e-12);
    const storm = shift.terms.find((t) => t.term === 'storm')!;
    const calm = shift.terms.find((t) => t.term === 'calm')!;
    // storm: Δp = 2/3 − 1/2 = 1/6, φ̄ = (0.9 + 0.3)/2 = 0.6 → frequency 1/6 × 0.4; p̄ = 7/12, Δφ = 0.6 → association 0.35.
    assert.ok(Math.abs(storm.frequencyPart - 0.4 / 6) < 1e-12);
    assert.ok(Math.abs(storm.associationPart - 0.35) < 1e-12);
    // calm: Δp = −1/6, φ̄ = 0.2 → frequency 0 (as associated as the baseline); p̄ = 5/12, Δφ = 0.2.
    assert.ok(Math.abs(calm.frequencyPart) < 1e-12);
    assert.ok(Math.abs(calm.associationPart - 5 / 60) < 1e-12);
    assert.equal(shift.terms[0]?.term, 'storm');
    assert.ok(Math.abs(storm.contribution + calm.contribution + shift.rest - 0.5) < 1e-12);
    assert.equal(storm.windowWeight, 2 / 3);
    assert.equal(calm.baselineAssociation, 0.1);
  });

  it('gives a term absent on one side its whole effect as frequency, and handles an empty baseline', () => {
    const s = SCARED;
    const shift = computeWordShift(table({ terrified: [1, 0.9], calm: [1, 0.1] }, s), table({ calm: [2, 0.2] }, s), s, 10);
    const terrified = shift.terms.find((t) => t.term === 'terrified')!;
    assert.equal(terrified.associationPart, 0);
    assert.equal(terrified.baselineAssociation, null);
    assert.ok(Math.abs(terrified.frequencyPart - 0.5 * (0.9 - 0.1)) < 1e-12);
    const empty = computeWordShift(table({ terrified: [1, 0.9] }, s), mergeTables([]), s, 10);
    assert.ok(Math.abs(empty.difference - 0.9) < 1e-12);
    assert.ok(Math.abs((empty.terms[0]?.contribution ?? 0) + empty.rest - 0.9) < 1e-12);
  });

  it('sums to the share difference of the buckets themselves, whatever the posts, the split and the cap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(postSpec, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        async (specs, windowMinute, emotion, maxTerms, limit) => {
          const posts = specs.map((spec, i) => postOf(spec, `p${i}`));
          const buckets = createMemoryTrendsStore();
          const words = createMemoryWordShiftStore();
          await buckets.apply('ns', planWrites(posts, { topicsOf: liveTopicsOf, candidatesPerBucket: 1 }), RETENTION);
          await words.apply('ns', planWordShift(posts, liveTopicsOf), { retention: RETENTION, maxTerms });
          for (const topic of ['storm-watch', 'festival', 'all']) {
            const start = T0 + windowMinute * 60_000;
            const shift = await readWordShift(words, 'ns', { topic, size: '1m', start, emotion: EMOTIONS[emotion]!, baselineWindows: windowMinute, limit });
            const refs: BucketRef[] = Array.from({ length: windowMinute + 1 }, (_, m) => ({ topic, size: '1m', start: T0 + m * 60_000 }));
            const stats = await buckets.readBuckets('ns', refs);
            const share = (list: (BucketStats | null)[]): number => {
              const count = list.reduce((n, b) => n + (b?.count ?? 0), 0);
              return count === 0 ? 0 : list.reduce((n, b) => n + (b?.sum[emotion] ?? 0), 0) / MICRO / count;
            };
            const expected = share(stats.slice(windowMinute)) - share(stats.slice(0, windowMinute));
            const explained = shift.terms.reduce((n, t) => n + t.contribution, shift.rest);
            assert.ok(Math.abs(shift.difference - expected) < 1e-9, `difference ${shift.difference} vs buckets ${expected}`);
            assert.ok(Math.abs(explained - expected) < 1e-9, `contributions sum to ${explained}, buckets differ by ${expected}`);
            for (const term of shift.terms) assert.ok(Math.abs(term.frequencyPart + term.associationPart - term.contribution) < 1e-12);
            assert.ok(shift.terms.length <= limit);
          }
        },
      ),
      { numRuns: 60, seed: 1130 },
    );
  });
});

function engineWith(overrides: Record<string, string>) {
  const config = trendsConfig(overrides);
  const clock = new VirtualClock(T0);
  const store = createMemoryTrendsStore({ clock });
  const alerts: Alert[] = [];
  const engine = new TrendsEngine({
    ns: LIVE_NAMESPACE,
    replayId: null,
    store,
    config,
    clock,
    logger: createLogger('test', { level: 'silent' }),
    topicsOf: liveTopicsOf,
    retention: liveRetention(config),
    stateTtlMs: DAY,
    confusion: null,
    onSeries: () => undefined,
    onAlert: (alert) => {
      alerts.push(alert);
    },
  });
  return { engine, store, alerts };
}

describe('word shift on alerts', () => {
  it("carries the alert window's word shift, led by the planted words", async () => {
    const { engine, alerts } = engineWith({});
    await feed(textedSpikeStream(), 1_000, (batch) => engine.ingest(batch));
    const alert = alerts.find((a) => a.topic === SPIKE_TOPIC && a.emotion === 'scared');
    assert.ok(alert?.wordShift, `the spike alert carries a word shift (alerts: ${alerts.map((a) => a.id).join(', ')})`);
    AlertSchema.parse(alert);
    const shift = alert.wordShift;
    assert.deepEqual(shift.terms.slice(0, 2).map((t) => t.term).sort(), [...PLANTED].sort());
    for (const term of shift.terms.slice(0, 2)) {
      assert.ok(term.contribution > 0 && term.windowWeight > term.baselineWeight, `${term.term} is used more and pushes scared up`);
    }
    assert.ok(Math.abs(shift.terms.reduce((n, t) => n + t.contribution, shift.rest) - shift.difference) < 1e-9);
    assert.equal(shift.window.start, alert.window.start);
    assert.equal(shift.baseline.windows, 10);
    assert.ok(Math.abs(shift.windowShare - alert.observed) < 1e-9, 'the window side is the alert window itself');
  });

  it('keeps no tables and carries no word shift with TRENDS_WORD_SHIFT=off', async () => {
    const { engine, store, alerts } = engineWith({ TRENDS_WORD_SHIFT: 'off' });
    await feed(textedSpikeStream(), 1_000, (batch) => engine.ingest(batch));
    assert.ok(alerts.length > 0);
    assert.ok(alerts.every((a) => a.wordShift === undefined));
    const [table] = await store.wordShift!.readTables(LIVE_NAMESPACE, [{ topic: SPIKE_TOPIC, size: '1m', start: T0 }]);
    assert.equal(table, null);
  });
});
