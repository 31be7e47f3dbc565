import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  AlertSchema,
  AlertsResponseSchema,
  ApiErrorSchema,
  EMOTIONS,
  ExamplePostsResponseSchema,
  SERVER_EVENT_SCHEMAS,
  SeriesResponseSchema,
  UiConfigSchema,
  type SeriesPoint,
} from '../src/index';

const perEmotion = <T>(value: T) => Object.fromEntries(EMOTIONS.map((e) => [e, value])) as Record<(typeof EMOTIONS)[number], T>;

const point: SeriesPoint = {
  start: 60_000,
  count: 3,
  shares: perEmotion({ share: 1 / 6, lo: 0, hi: 0.5 }),
  corrected: null,
  topCounts: perEmotion(0),
  explicitCount: 0,
};

test('a series answer is checked down to each emotion of each point', () => {
  const answer = { topic: 'all', window: '1m', from: 0, to: 120_000, replay: null, points: [point] };
  assert.equal(SeriesResponseSchema.safeParse(answer).success, true);
  const { scared: _dropped, ...fiveShares } = point.shares;
  const missing = SeriesResponseSchema.safeParse({ ...answer, points: [{ ...point, shares: fiveShares }] });
  assert.equal(missing.success, false, 'a point without every emotion is refused');
  assert.equal(SeriesResponseSchema.safeParse({ ...answer, window: '2m' }).success, false, 'only known windows');
});

test('lists come wrapped in an object named after them', () => {
  assert.equal(AlertsResponseSchema.safeParse({ alerts: [] }).success, true);
  assert.equal(AlertsResponseSchema.safeParse([]).success, false, 'a bare array is not the contract');
  const post = { postId: 'p', timestamp: 1, text: 'hi', imageUrl: null, url: null, probabilities: [1, 0, 0, 0, 0, 0], topEmotion: 'happy', modality: 'text', explicit: null };
  assert.equal(ExamplePostsResponseSchema.safeParse({ posts: [post] }).success, true);
  assert.equal(ExamplePostsResponseSchema.safeParse({ posts: [{ ...post, probabilities: [1] }] }).success, false, 'one probability per emotion');
});

test('every server-to-browser socket event has a schema', () => {
  assert.deepEqual(Object.keys(SERVER_EVENT_SCHEMAS).sort(), ['alert', 'modelVersion', 'moment', 'replay', 'series', 'topics']);
  assert.equal(SERVER_EVENT_SCHEMAS.moment.safeParse({}).success, false, 'a moment event is checked too');
  assert.equal(SERVER_EVENT_SCHEMAS.topics.safeParse([{ topic: 'cats', count: 2, lastSeen: null }]).success, true);
  assert.equal(SERVER_EVENT_SCHEMAS.series.safeParse({ topic: 'cats', window: '1m', replay: null, point: { ...point, count: -1 } }).success, false);
});

test('error bodies and the UI config have their shapes too', () => {
  assert.equal(ApiErrorSchema.safeParse({ error: { code: 'NOT_FOUND', message: 'no alert' } }).success, true);
  assert.equal(ApiErrorSchema.safeParse('<html>502</html>').success, false);
  assert.equal(UiConfigSchema.safeParse({ explicitThreshold: 0.5 }).success, true);
  assert.equal(UiConfigSchema.safeParse({ explicitThreshold: '0.5' }).success, false);
});

test('an alert explains itself when it can, and alerts stored before explanations existed still parse', () => {
  const load = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/valid/${name}`, import.meta.url), 'utf8'));
  const old = AlertSchema.parse(load('alert.json'));
  assert.equal(old.explanation, undefined);
  const explained = AlertSchema.parse(load('alert-explained.json'));
  assert.equal(explained.explanation?.baseline.method, 'hour-of-day');
  const broken = structuredClone(load('alert-explained.json')) as { explanation: { dispersion: { totalSd: number } } };
  broken.explanation.dispersion.totalSd = -1;
  assert.equal(AlertSchema.safeParse(broken).success, false, 'a negative standard deviation is not an explanation');
  assert.equal(AlertsResponseSchema.safeParse({ alerts: [old, explained] }).success, true);
});
