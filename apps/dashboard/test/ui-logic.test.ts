import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMOTIONS } from '@moodstream/events';
import { describeRise, mergeAlert, mergeAlerts, viewForAlert } from '../src/ui/alerts';
import { formatBucket, formatCount, formatPercent, formatPValue, formatTime, fromDateTimeLocal, toDateTimeLocal } from '../src/ui/format';
import { EMOTION_COLORS, EMOTION_LABELS } from '../src/ui/palette';
import { imageHoldReason, isHttpUrl } from '../src/ui/PostsPanel';
import { hasCorrected, leadingEmotion, mergePoint, toChartRows, totalCount, trimBefore, updateMatches } from '../src/ui/series';
import { DEFAULT_VIEW, parseViewState, viewStateQuery } from '../src/ui/url-state';
import { RANGE_MS, allowedWindows, fitWindow, liveSpan, windowForSpan } from '../src/ui/windows';
import { makeAlert, makePoint } from './support/fake-trends';

const MIN = 60_000;

describe('palette', () => {
  it('is keyed by exactly the emotions of libs/events', () => {
    assert.deepEqual(Object.keys(EMOTION_COLORS).sort(), [...EMOTIONS].sort());
    assert.deepEqual(Object.keys(EMOTION_LABELS).sort(), [...EMOTIONS].sort());
  });

  it('gives each emotion its own valid colour', () => {
    const colours = EMOTIONS.map((e) => EMOTION_COLORS[e]);
    for (const c of colours) assert.match(c, /^#[0-9a-f]{6}$/);
    assert.equal(new Set(colours).size, EMOTIONS.length);
  });
});

describe('windows', () => {
  it('spans the ranges it names', () => {
    assert.deepEqual(RANGE_MS, { '1h': 60 * MIN, '24h': 24 * 60 * MIN, '7d': 7 * 24 * 60 * MIN });
  });

  it('offers only windows giving a readable number of buckets per range', () => {
    assert.deepEqual(allowedWindows('1h'), ['1m', '5m']);
    assert.deepEqual(allowedWindows('24h'), ['1m', '5m', '1h']);
    assert.deepEqual(allowedWindows('7d'), ['5m', '1h']);
    assert.equal(fitWindow('7d', '1m'), '5m');
    assert.equal(fitWindow('1h', '1h'), '1m');
    assert.equal(fitWindow('24h', '1h'), '1h');
  });

  it('picks a replay resolution from its span', () => {
    assert.equal(windowForSpan(60 * MIN), '1m');
    assert.equal(windowForSpan(24 * 60 * MIN), '1m');
    assert.equal(windowForSpan(3 * 24 * 60 * MIN), '5m');
    assert.equal(windowForSpan(30 * 24 * 60 * MIN), '1h');
  });

  it('ends a live span with the bucket now in progress', () => {
    assert.deepEqual(liveSpan(7 * MIN + 1, '5m', 60 * MIN), { from: -50 * MIN, to: 10 * MIN });
    assert.deepEqual(liveSpan(5 * MIN + 59_999, '1m', 2 * MIN), { from: 4 * MIN, to: 6 * MIN });
  });
});

describe('series merging', () => {
  const p = (minute: number, count = 10) => makePoint(minute * MIN, count, { happy: 0.5 });

  it('appends a new bucket in order and replaces a re-sent one', () => {
    let points = [p(1), p(2), p(4)];
    points = mergePoint(points, p(3));
    assert.deepEqual(points.map((x) => x.start / MIN), [1, 2, 3, 4]);
    points = mergePoint(points, p(5));
    assert.deepEqual(points.map((x) => x.start / MIN), [1, 2, 3, 4, 5]);
    points = mergePoint(points, p(3, 99));
    assert.deepEqual(points.map((x) => x.count), [10, 10, 99, 10, 10]);
    assert.equal(points.length, 5);
  });

  it('does not mutate its input', () => {
    const before = [p(1), p(3)];
    const copy = before.slice();
    mergePoint(before, p(2));
    assert.deepEqual(before, copy);
  });

  it('drops buckets that fell off the left edge of the range', () => {
    const merged = mergePoint([p(1), p(2), p(3)], p(4), 3 * MIN);
    assert.deepEqual(merged.map((x) => x.start / MIN), [3, 4]);
    assert.deepEqual(mergePoint([p(5)], p(1), 3 * MIN).map((x) => x.start / MIN), [5]);
    const same = [p(5)];
    assert.equal(trimBefore(same, 0), same, 'nothing to trim keeps the same array');
  });

  it('applies only updates for the watched topic, window and replay', () => {
    const update = { topic: 'cats', window: '1m' as const, replay: null, point: p(1) };
    assert.equal(updateMatches(update, { topic: 'cats', window: '1m', replay: null }), true);
    assert.equal(updateMatches(update, { topic: 'dogs', window: '1m', replay: null }), false);
    assert.equal(updateMatches(update, { topic: 'cats', window: '5m', replay: null }), false);
    assert.equal(updateMatches(update, { topic: 'cats', window: '1m', replay: 'r1' }), false);
    assert.equal(updateMatches({ ...update, replay: 'r1' }, { topic: 'cats', window: '1m', replay: 'r1' }), true);
  });

  it('flattens points into chart rows with bands for raw shares and plain values for corrected ones', () => {
    const point = makePoint(MIN, 100, { scared: 0.5 });
    const [raw] = toChartRows([point], 'raw');
    assert.equal(raw?.scared, point.shares.scared.share);
    assert.deepEqual(raw?.scaredBand, [point.shares.scared.lo, point.shares.scared.hi]);
    const corrected = { ...point, corrected: { happy: 0.1, sad: 0.1, angry: 0.1, surprised: 0.1, scared: 0.5, disgusted: 0.1 } };
    const [row] = toChartRows([corrected], 'corrected');
    assert.equal(row?.scared, 0.5);
    assert.equal(row?.scaredBand, undefined);
    const [missing] = toChartRows([point], 'corrected');
    assert.equal(missing?.scared, undefined, 'no corrected estimate is a gap, not a zero');
    assert.equal(hasCorrected([point]), false);
    assert.equal(hasCorrected([point, corrected]), true);
  });

  it('sums counts and names the leading emotion', () => {
    assert.equal(totalCount([p(1, 3), p(2, 4)]), 7);
    assert.equal(leadingEmotion(makePoint(0, 10, { angry: 0.9 }), 'raw'), 'angry');
  });
});

describe('alerts', () => {
  const now = Date.UTC(2026, 10, 27, 12, 0);

  it('keeps one copy per id, newest first, capped', () => {
    const a = makeAlert({ id: 'a', topic: 't', emotion: 'sad', firedAt: 1 });
    const b = makeAlert({ id: 'b', topic: 't', emotion: 'sad', firedAt: 2 });
    let list = mergeAlerts([], [a, b]);
    assert.deepEqual(list.map((x) => x.id), ['b', 'a']);
    list = mergeAlert(list, { ...a, acknowledged: true });
    assert.equal(list.length, 2);
    assert.equal(list.find((x) => x.id === 'a')?.acknowledged, true);
    assert.equal(mergeAlerts([], [a, b], 1).length, 1);
  });

  it('links an alert to the smallest range that shows its moment, at its own window when allowed', () => {
    const recent = makeAlert({ id: 'x', topic: 'storm watch', emotion: 'scared', window: { size: '1m', start: now - 10 * MIN, end: now - 9 * MIN } });
    const view = viewForAlert(recent, now, false);
    assert.deepEqual({ topic: view.topic, window: view.window, range: view.range, at: view.at, posts: view.posts }, { topic: 'storm watch', window: '1m', range: '1h', at: now - 10 * MIN, posts: false });
    const old = makeAlert({ id: 'y', topic: 'cats', emotion: 'happy', window: { size: '1m', start: now - 3 * 24 * 60 * MIN, end: now - 3 * 24 * 60 * MIN + MIN } });
    const oldView = viewForAlert(old, now, true);
    assert.equal(oldView.range, '7d');
    assert.equal(oldView.window, '1h', '1m buckets are too fine for 7 days');
    assert.equal(oldView.posts, true);
    assert.equal(oldView.emotion, 'happy');
  });

  it('describes the rise against the baseline', () => {
    assert.equal(describeRise(makeAlert({ id: 'z', topic: 't', emotion: 'sad', observed: 0.2, expected: 0.05 })), '4.0× baseline (+15.0 pts)');
  });
});

describe('view state in the URL', () => {
  it('round-trips through the query string and leaves defaults out', () => {
    assert.equal(viewStateQuery(DEFAULT_VIEW), '');
    const state = { ...DEFAULT_VIEW, topic: 'storm watch', window: '5m' as const, range: '24h' as const, mode: 'corrected' as const, at: 123 * MIN, posts: true, emotion: 'scared' as const };
    assert.deepEqual(parseViewState(viewStateQuery(state)), state);
  });

  it('ignores junk instead of failing', () => {
    const state = parseViewState('?window=7y&range=forever&at=abc&emotion=bored&posts=1&mode=x');
    assert.deepEqual(state, DEFAULT_VIEW);
    assert.equal(parseViewState('?range=7d&window=1m').window, '5m', 'a window the range cannot show is fitted');
  });
});

describe('formatting', () => {
  it('formats shares, counts and p-values for people', () => {
    assert.equal(formatPercent(0.1234), '12.3%');
    assert.equal(formatPercent(0.5, 0), '50%');
    assert.equal(formatPercent(Number.NaN), '–');
    assert.equal(formatCount(1234), '1,234');
    assert.equal(formatCount(17_600), '17.6k');
    assert.equal(formatCount(2_500_000), '2.5M');
    assert.equal(formatPValue(0.0312), '0.031');
    assert.equal(formatPValue(1.5e-9), '1.5e-9');
  });

  it('shows clock times within a day and dates beyond', () => {
    const t = Date.UTC(2026, 10, 27, 14, 5);
    assert.equal(formatTime(t, 3_600_000, 'UTC'), '14:05');
    assert.equal(formatTime(t, 7 * 86_400_000, 'UTC'), '27 Nov, 14:05');
    assert.equal(formatBucket(t, '1m', 'UTC'), '14:05–14:06');
    assert.equal(formatBucket(Date.UTC(2026, 10, 27, 13), '1h', 'UTC'), '27 Nov, 13:00–14:00');
  });

  it('round-trips datetime-local values', () => {
    const t = Date.UTC(2026, 10, 27, 14, 5);
    assert.equal(fromDateTimeLocal(toDateTimeLocal(t)), t);
    assert.ok(Number.isNaN(fromDateTimeLocal('')));
    assert.ok(Number.isNaN(fromDateTimeLocal('yesterday')));
  });
});

describe('posts drill-down rules', () => {
  it('holds back images at or above the threshold, unscreened ones, and all while the threshold is unknown', () => {
    assert.equal(imageHoldReason({ explicit: 0.5 }, 0.5), 'explicit');
    assert.equal(imageHoldReason({ explicit: 0.49 }, 0.5), null);
    assert.equal(imageHoldReason({ explicit: null }, 0.5), 'unscreened');
    assert.equal(imageHoldReason({ explicit: 0.01 }, null), 'pending');
  });

  it('renders only http(s) URLs', () => {
    assert.equal(isHttpUrl('https://64.media.tumblr.com/a.jpg'), true);
    assert.equal(isHttpUrl('http://127.0.0.1:9/x.svg'), true);
    assert.equal(isHttpUrl('javascript:alert(1)'), false);
    assert.equal(isHttpUrl('data:image/png;base64,AAAA'), false);
    assert.equal(isHttpUrl('not a url'), false);
    assert.equal(isHttpUrl(null), false);
  });
});
