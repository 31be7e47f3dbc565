import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { startTumblrStandIn } from '../src/index';

// The stand-in listens on loopback only; these are the routes the scorer's tests rely on.
test('image routes serve real images, a huge one, a fake, a bomb, a truncated file and 404s', async () => {
  const standIn = await startTumblrStandIn();
  try {
    const get = async (path: string): Promise<{ status: number; type: string | null; body: Buffer }> => {
      const res = await fetch(`${standIn.url}${path}`);
      return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
    };
    const jpg = await get('/images/cat.jpg');
    assert.equal(jpg.status, 200);
    assert.equal(jpg.type, 'image/jpeg');
    const meta = await sharp(jpg.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 640, 480]);

    const png = await get('/images/cat_300x200.png');
    assert.equal(png.type, 'image/png');
    const pngMeta = await sharp(png.body).metadata();
    assert.deepEqual([pngMeta.format, pngMeta.width, pngMeta.height], ['png', 300, 200]);

    const huge = await get('/images/huge.jpg');
    const hugeMeta = await sharp(huge.body).metadata();
    assert.equal((hugeMeta.width ?? 0) * (hugeMeta.height ?? 0), 64_000_000);

    const fake = await get('/images/not-an-image.jpg');
    assert.equal(fake.type, 'image/jpeg');
    await assert.rejects(sharp(fake.body).metadata());

    const bomb = await get('/images/bomb.png');
    assert.ok(bomb.body.length < 1_000_000, `bomb is small on the wire (${bomb.body.length} bytes)`);
    const bombMeta = await sharp(bomb.body, { limitInputPixels: false }).metadata();
    assert.equal(bombMeta.width, 30_000);
    await assert.rejects(sharp(bomb.body).raw().toBuffer(), /pixel limit/i);

    const truncated = await get('/images/truncated.jpg');
    await assert.rejects(sharp(truncated.body).raw().toBuffer());

    assert.equal((await get('/images/missing-cat.jpg')).status, 404);
    assert.equal((await get('/images/cat_9999x10.jpg')).status, 404);
    assert.equal((await get('/images/../etc/passwd')).status, 404);
  } finally {
    await standIn.close();
  }
});

// The reliability suite's slow image host: many answers waiting at once on the stand-in's one close signal is the
// design, not a listener leak, so Node must not warn about it (a CI log showed MaxListenersExceededWarning here).
test('many slow image answers at once: no listener warning, and all answered', async () => {
  const standIn = await startTumblrStandIn();
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(`${warning.name}: ${warning.message}`);
  };
  process.on('warning', onWarning);
  try {
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => fetch(`${standIn.url}/images/cat.jpg?delayMs=200&n=${i}`)));
    assert.deepEqual(
      answers.map((res) => res.status),
      new Array<number>(16).fill(200),
    );
    await Promise.all(answers.map((res) => res.arrayBuffer()));
    // 'warning' is emitted on the next tick after the listener that crossed the limit was added.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')), []);
  } finally {
    process.off('warning', onWarning);
    await standIn.close();
  }
});
