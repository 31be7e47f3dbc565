/**
 * Post parsing throughput and its worst case on hostile input, on one core. Not part of `npm test`.
 *
 *   npm run bench:ingester-parse [-- --posts 20000] [--rounds 5]
 *
 * Rows:
 *   - mix: posts/s of `parseTumblrPost` (HTML to text, NPF blocks, image choice, English filter, schema) on a
 *     realistic mix — generated legacy photo / legacy text / NPF posts, every NPF shape of the stand-in's
 *     fixtures, and NPF posts in their legacy rendering (figures with srcset in an HTML body); median over rounds;
 *   - hostile: each 1 MB body (unclosed tags, attribute soup, comments, entities, deep nesting, blank runs,
 *     lone surrogates) as a legacy text post; the median of 3 runs per body after a warm-up, and the worst of those.
 * Writes bench/results/ingester-parse.json. The bar: ≥ 5,000 posts/s, every 1 MB body < 100 ms.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLineOrExit } from '@moodstream/core';
import { generateTaggedPosts, imageBlock, legacyRendering, npfPost, npfShapes, parseTumblrPost, textBlock, type ParseContext, type RawTumblrPost } from '@moodstream/tumblr';
import { median } from './stats';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseCommandLineOrExit({
  command: 'npm run bench:ingester-parse',
  summary: 'post parsing throughput on a realistic mix, and its worst case on 1 MB hostile bodies, on one core (bench/results/ingester-parse.json)',
  options: {
    posts: { type: 'number', default: 20000, integer: true, positive: true, description: 'posts in the mix' },
    rounds: { type: 'number', default: 5, integer: true, positive: true, description: 'rounds over the mix (the median is quoted)' },
  },
});
const COUNT = values.posts;
const ROUNDS = values.rounds;
const ctx: ParseContext = {
  foundUnder: 'happy',
  watchedTopics: new Set(['happy', 'sad', 'angry', 'surprised', 'scared', 'disgusted']),
  source: 'live',
  ingestedAt: Date.now(),
  minEnglishWords: 5,
};
const resolve = (post: RawTumblrPost): RawTumblrPost => JSON.parse(JSON.stringify(post).replaceAll('{{base}}', 'https://64.media.tumblr.test')) as RawTumblrPost;

function realisticMix(count: number): RawTumblrPost[] {
  const generated = generateTaggedPosts({ tags: ['happy', 'sad', 'angry'], perTag: Math.ceil(count / 3), overlap: 0.2, seed: 3 }).posts;
  const shapes = npfShapes(900_000_000_000_000_000n, 1_700_000_000, 'happy').map((s) => s.post);
  const appPosts = Array.from({ length: 50 }, (_, i) =>
    npfPost({
      id: 910_000_000_000_000_000n + BigInt(i),
      timestamp: 1_700_000_000 - i,
      tags: ['happy', 'life'],
      content: [imageBlock(`mix${i}a`, { alt_text: 'the view from the window' }), imageBlock(`mix${i}b`), textBlock('Finally home after a long week, the weather was good and my friends came by #happy')],
    }),
  );
  const pool = [...shapes, ...appPosts, ...appPosts.map(legacyRendering)];
  // Three in four posts generated, one in four from the NPF pool (both formats).
  const mix: RawTumblrPost[] = [];
  for (let i = 0; i < count; i++) mix.push(resolve(i % 4 === 3 ? (pool[i % pool.length] as RawTumblrPost) : (generated[i % generated.length] as RawTumblrPost)));
  return mix;
}

const MB = 1_048_576;
const fill = (unit: string): string => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
const HOSTILE: Record<string, string> = {
  'unclosed <a': fill('<a '),
  'attribute soup': fill('<a b="'),
  'unclosed comments': fill('<!--'),
  'entity soup': fill('&amp&#x1;&'),
  'nested inline tags': fill('<b><i>'),
  'blank runs': fill(' \t \n'),
  'lone surrogates': fill('a\uD800'),
  'open scripts': fill('<script>'),
  'img srcset soup': fill('<img data-orig-width=1 data-orig-height=1 srcset="a 1w,'),
  'words in paragraphs': fill('<p>the weather was good today</p>'),
};

function bench(): void {
  const mix = realisticMix(COUNT);
  let kept = 0;
  for (const raw of mix.slice(0, 2000)) parseTumblrPost(raw, ctx);
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    kept = 0;
    const started = performance.now();
    for (const raw of mix) if (parseTumblrPost(raw, ctx).ok) kept++;
    rates.push(mix.length / ((performance.now() - started) / 1000));
  }
  const postsPerSecond = Math.round(median(rates));

  const hostile: Record<string, number> = {};
  for (const [name, body] of Object.entries(HOSTILE)) {
    const post = resolve({ ...(generateTaggedPosts({ tags: ['happy'], perTag: 1, formats: ['legacy-text'] }).posts[0] as RawTumblrPost), body });
    for (let i = 0; i < 3; i++) parseTumblrPost({ ...post, body: body.slice(0, 65_536) }, ctx);
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      parseTumblrPost(post, ctx);
      runs.push(performance.now() - started);
    }
    hostile[name] = Number(median(runs).toFixed(1));
  }
  const worst = Object.entries(hostile).reduce((a, b) => (b[1] > a[1] ? b : a));
  const result = {
    at: new Date().toISOString(),
    node: process.version,
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    mix: { posts: mix.length, kept, rounds: ROUNDS, postsPerSecond, perRound: rates.map(Math.round) },
    hostile1MB: { msPerBody: hostile, worst: { body: worst[0], ms: worst[1] } },
  };
  process.stdout.write(
    `realistic mix: ${postsPerSecond} posts/s (median of ${ROUNDS} rounds of ${mix.length}; ${kept} kept)\n` +
      `1 MB hostile bodies: worst ${worst[1]} ms (${worst[0]})\n` +
      Object.entries(hostile).map(([name, ms]) => `  ${name}: ${ms} ms\n`).join(''),
  );
  void mkdir(path.join(ROOT, 'bench/results'), { recursive: true }).then(() => writeFile(path.join(ROOT, 'bench/results/ingester-parse.json'), JSON.stringify(result, null, 2) + '\n'));
}

bench();
