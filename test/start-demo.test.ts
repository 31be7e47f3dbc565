import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ConfigError } from '@moodstream/core';
import { loadDemoStream } from '../scripts/start/demo-stream';
import { demoLiveStart, demoSchedule, plantedShiftWindow } from '../scripts/start/demo-plan';
import { parseStartConfig, isDistributed } from '../scripts/start/config';
import { startDemoImages } from '../scripts/start/demo-images';
import { REPO_ROOT } from '../scripts/start/paths';

const STREAM = resolve(REPO_ROOT, 'data/demo/stream.ndjson');

describe('the committed demo stream', () => {
  it('parses as Posts and carries the planted shift its manifest describes', async () => {
    const { manifest, posts } = await loadDemoStream(STREAM);
    assert.equal(posts.length, manifest.posts);
    assert.ok(posts.every((p) => p.source === 'archive' && p.imageUrl === null && new URL(p.url).hostname.endsWith('.example.com')));
    const shift = manifest.plantedShift;
    const minuteOf = (t: number): number => Math.floor((t - manifest.streamStart) / 60_000);
    const share = (inShift: boolean): number => {
      const topicPosts = posts.filter((p) => {
        const m = minuteOf(p.timestamp);
        return p.topics.includes(shift.topic) && (m >= shift.startMinute && m < shift.endMinute) === inShift;
      });
      return topicPosts.filter((p) => p.label === shift.emotion).length / topicPosts.length;
    };
    assert.ok(share(true) >= 0.5, `shift share ${share(true)}`);
    assert.ok(share(false) < 0.1, `baseline share ${share(false)}`);
    for (const id of manifest.markupPosts) assert.match(posts.find((p) => p.id === id)?.text ?? '', /</);
  });

  it('is rebuilt byte for byte from the source texts', { skip: !existsSync(resolve(REPO_ROOT, '../shared/data/goemotions/ekman6_test.tsv')) && 'source texts absent (../shared/data)' }, async () => {
    const out = await mkdtemp(join(tmpdir(), 'demo-build-'));
    try {
      const run = spawnSync(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, 'scripts/build-demo-stream.ts'), '--out', out], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(await readFile(join(out, 'stream.ndjson')), await readFile(STREAM));
      assert.deepEqual(await readFile(join(out, 'manifest.json')), await readFile(resolve(REPO_ROOT, 'data/demo/manifest.json')));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('demo:build fails with a clear message when the source texts are absent', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, 'scripts/build-demo-stream.ts'), '--data', '/nonexistent', '--out', '/nonexistent/out'], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /needs the GoEmotions test texts at \/nonexistent\/goemotions\/ekman6_test\.tsv/);
  });
});

describe('demo schedule around now', () => {
  it('replays history in order ending where live begins, stamps nothing in the future, and loops with fresh ids', async () => {
    const { manifest, posts } = await loadDemoStream(STREAM);
    const startAt = Date.UTC(2030, 0, 1, 12, 0, 30);
    const speed = 4;
    const historySpeed = 60;
    const liveStart = demoLiveStart({ manifest, startAt, historySpeed, leadMinutes: 2 });
    const historyMinutes = manifest.plantedShift.startMinute + 2;
    assert.equal(liveStart, startAt + (historyMinutes * 60_000) / historySpeed);
    const ids = new Set<string>();
    let lastEmit = -Infinity;
    let lastStamp = -Infinity;
    let history = 0;
    let live = 0;
    const lapMs = (manifest.durationMinutes * 60_000) / speed;
    for (const item of demoSchedule({ manifest, posts, startAt, historySpeed, leadMinutes: 2, speed })) {
      if (item.emitAt > liveStart + 1.5 * lapMs) break;
      assert.ok(item.emitAt >= lastEmit, 'emit times never go back');
      assert.ok(item.post.timestamp >= lastStamp, 'post times never go back');
      assert.ok(item.post.timestamp <= item.emitAt, 'no post is stamped in the future');
      lastEmit = item.emitAt;
      lastStamp = item.post.timestamp;
      assert.ok(!ids.has(item.post.id), `duplicate id ${item.post.id}`);
      ids.add(item.post.id);
      assert.ok(item.post.url.endsWith(item.post.id));
      if (item.history) {
        history++;
        assert.ok(item.emitAt >= startAt && item.post.timestamp < liveStart);
      } else {
        live++;
        assert.ok(item.emitAt >= liveStart);
        assert.equal(item.post.timestamp, item.emitAt);
      }
    }
    assert.ok(history > 3000 && live > 4000, `history ${history}, live ${live}`);
    const shift = plantedShiftWindow(manifest, liveStart, 2, speed);
    assert.equal(shift.from, liveStart - 2 * 60_000);
    assert.equal(shift.to, liveStart + ((manifest.plantedShift.endMinute - manifest.plantedShift.startMinute - 2) * 60_000) / speed);
  });

  it('attaches images to live posts only', async () => {
    const { manifest, posts } = await loadDemoStream(STREAM);
    const startAt = Date.now();
    let withImage = 0;
    for (const item of demoSchedule({ manifest, posts, startAt, historySpeed: 60, leadMinutes: 2, speed: 1, imageFor: (p) => `http://127.0.0.1:9/${p.id}.jpg` })) {
      if (item.emitAt > startAt + 120_000) break;
      if (item.history) assert.equal(item.post.imageUrl, null);
      else withImage++;
    }
    assert.ok(withImage > 0);
  });
});

describe('launcher config', () => {
  it('defaults to the embedded mode on port 3000', () => {
    const config = parseStartConfig({});
    assert.equal(config.PORT, 3000);
    assert.equal(isDistributed(config), false);
    assert.equal(isDistributed(parseStartConfig({ KAFKA_BROKERS: '127.0.0.1:9092', REDIS_URL: 'redis://127.0.0.1:6379' })), true);
  });

  it('names every bad variable in one readable error', () => {
    assert.throws(
      () => parseStartConfig({ KAFKA_BROKERS: '127.0.0.1:9092', DEMO_SPEED: 'fast', PORT: '99999' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /REDIS_URL: set both KAFKA_BROKERS and REDIS_URL/.test(error.message) &&
        /DEMO_SPEED/.test(error.message) &&
        /PORT/.test(error.message),
    );
  });
});

describe('--demo-images server', () => {
  it('serves only the listed images and picks one of the post label', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'demo-images-'));
    await mkdir(join(dir, 'fear'));
    await mkdir(join(dir, 'joy'));
    await writeFile(join(dir, 'fear', '1.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    await writeFile(join(dir, 'joy', '1.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe1]));
    await writeFile(join(dir, 'notes.txt'), 'not an image');
    const images = await startDemoImages({ dir, share: 1 });
    try {
      assert.equal(images.imageCount, 2);
      const url = images.imageFor({ id: '42', label: 'scared' });
      assert.equal(url, `${images.baseUrl}/fear/1.jpg`);
      assert.equal(images.imageFor({ id: '42', label: 'scared' }), url, 'stable per id');
      const ok = await fetch(url ?? '');
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('content-type'), 'image/jpeg');
      assert.deepEqual(Buffer.from(await ok.arrayBuffer()), Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
      for (const path of ['/notes.txt', '/../etc/passwd', '/fear/%2e%2e/%2e%2e/etc/passwd', '/fear/']) {
        assert.equal((await fetch(images.baseUrl + path)).status, 404, path);
      }
    } finally {
      await images.close();
      await rm(dir, { recursive: true, force: true });
    }
    const none = await startDemoImages({ dir: REPO_ROOT + '/data/demo', share: 0 }).catch((error: unknown) => error);
    assert.ok(none instanceof ConfigError && /no \.jpg/.test(none.message));
  });
});
