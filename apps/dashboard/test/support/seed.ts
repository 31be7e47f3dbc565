import type { Emotion } from '@moodstream/events';
import { FakeTrends, makePoint } from './fake-trends';

/** An hour of calm 1-minute buckets on "all" and two topics, ending at the current minute. */
export function seedHour(fake: FakeTrends, now = Date.now()): number {
  const minute = 60_000;
  const last = Math.floor(now / minute) * minute;
  for (let i = 59; i >= 0; i--) {
    const start = last - i * minute;
    const wobble = Math.sin(i / 6) * 0.04;
    const mix: Partial<Record<Emotion, number>> = { happy: 0.34 + wobble, sad: 0.2 - wobble / 2, angry: 0.12, surprised: 0.14, scared: 0.1 + (i < 8 ? 0.12 : 0), disgusted: 0.1 };
    fake.putPoint('all', '1m', makePoint(start, 300 + Math.round(40 * Math.cos(i / 4)), mix), null, false);
    fake.putPoint('storm watch', '1m', makePoint(start, 90, { ...mix, scared: 0.08 + (i < 8 ? 0.3 : 0) }), null, false);
  }
  fake.topics = [
    { topic: 'storm watch', count: 5400, lastSeen: last },
    { topic: 'cats', count: 3100, lastSeen: last },
  ];
  return last;
}
