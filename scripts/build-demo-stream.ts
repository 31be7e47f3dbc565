/**
 * Builds the bundled demo stream (data/demo/stream.ndjson + manifest.json) from the GoEmotions
 * test texts beside the project (../shared/data/goemotions/ekman6_test.tsv, CC BY 4.0).
 *
 * The stream is synthetic around real texts: fictional blogs, example.com URLs, five invented
 * event topics, steady timestamps — and one planted mood shift (a topic whose share of one
 * emotion jumps for several minutes) so the embedded demo fires a spike alert soon after start.
 * Deterministic: the same source file and seed give the same bytes. The output is committed,
 * so a fresh clone never needs the source data.
 *
 *   npm run demo:build [-- --data ../shared/data --out data/demo --seed 7]
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLineOrExit } from '@moodstream/core';
import { EMOTIONS, PostSchema, isEmotion, type Emotion, type Post } from '@moodstream/events';
import { DemoManifestSchema, type DemoManifest } from './demo/manifest';
import { seededRandom, type SeededRandom } from './demo/random';
import { REPO_ROOT as ROOT } from './start/paths';

const SOURCE_FILE = 'goemotions/ekman6_test.tsv';

const TOPICS = ['election-night', 'cup-final', 'product-launch', 'storm-watch', 'festival'] as const;
const EXTRA_TAGS: Record<(typeof TOPICS)[number], readonly string[]> = {
  'election-night': ['politics', 'vote', 'results', 'live blog'],
  'cup-final': ['football', 'match day', 'fans', 'extra time'],
  'product-launch': ['tech', 'keynote', 'unboxing', 'preorder'],
  'storm-watch': ['weather', 'forecast', 'power outage', 'stay safe'],
  festival: ['music', 'lineup', 'camping', 'headliner'],
};
const BLOG_WORDS = ['quiet', 'amber', 'harbor', 'static', 'velvet', 'north', 'paper', 'signal', 'lunar', 'moss', 'copper', 'drift'];

/** The planted shift: "storm-watch" turns scared for eight minutes, with twice its usual volume. */
const SHIFT = { topic: 'storm-watch', emotion: 'scared', startMinute: 14, endMinute: 22, share: 0.85, volume: 2 } as const;
const DURATION_MINUTES = 26;
const POSTS_PER_TOPIC_PER_MINUTE = 40;
const STREAM_START = Date.UTC(2024, 5, 1, 18, 0, 0);
/** Words a text model reads as fear; shift texts that contain one make the shift unmistakable. */
const FEAR_WORDS = /scar|afraid|terrif|fear|frighten|nervous|worr|anxi|panic|creep|paranoi|freak/i;
/** Captions with markup, to prove every view renders user text as text. */
const MARKUP_TEXTS = [
  'the sirens just started <script>alert(1)</script> stay safe everyone',
  'what a goal!!! <img src=x onerror="alert(1)"> best night ever',
  'new phone looks <b>amazing</b> but <script>document.title="pwned"</script> the price is wild',
];

interface SourceRow {
  text: string;
  label: Emotion;
}

async function readSource(dataDir: string): Promise<{ rows: SourceRow[]; sha256: string }> {
  const path = join(dataDir, SOURCE_FILE);
  if (!existsSync(path)) {
    throw new Error(
      `demo:build needs the GoEmotions test texts at ${path} (see ../shared/data/README.md). ` +
        'They are not part of the repository; the committed data/demo stream works without them.',
    );
  }
  const bytes = await readFile(path);
  const lines = bytes.toString('utf8').split('\n');
  if (lines[0]?.trim() !== 'text\tlabel') throw new Error(`${path}: expected a "text<TAB>label" header, got ${JSON.stringify(lines[0])}`);
  const rows: SourceRow[] = [];
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const tab = line.lastIndexOf('\t');
    const text = line.slice(0, tab).trim();
    const label = line.slice(tab + 1).trim();
    if (tab < 0 || text === '' || !isEmotion(label)) throw new Error(`${path}: malformed row ${JSON.stringify(line.slice(0, 80))}`);
    rows.push({ text, label });
  }
  return { rows, sha256: createHash('sha256').update(bytes).digest('hex') };
}

interface Slot {
  timestamp: number;
  topic: (typeof TOPICS)[number];
  shifted: boolean;
}

/** Every post's time and topic: a steady rate per topic, jittered within each minute. */
function schedule(random: SeededRandom): Slot[] {
  const slots: Slot[] = [];
  for (let minute = 0; minute < DURATION_MINUTES; minute++) {
    const inShift = minute >= SHIFT.startMinute && minute < SHIFT.endMinute;
    for (const topic of TOPICS) {
      const shiftTopic = inShift && topic === SHIFT.topic;
      const count = Math.round(POSTS_PER_TOPIC_PER_MINUTE * (shiftTopic ? SHIFT.volume : 1) * (0.9 + 0.2 * random.next()));
      for (let i = 0; i < count; i++) {
        slots.push({
          timestamp: STREAM_START + minute * 60_000 + random.int(60_000),
          topic,
          shifted: shiftTopic && random.next() < SHIFT.share,
        });
      }
    }
  }
  return slots.sort((a, b) => a.timestamp - b.timestamp);
}

function blogName(random: SeededRandom): string {
  return `${random.pick(BLOG_WORDS)}-${random.pick(BLOG_WORDS)}-${random.int(100)}`;
}

export function buildStream(rows: SourceRow[], seed: number): { posts: Post[]; markupIds: string[] } {
  const random = seededRandom(seed);
  const shiftPool = rows.filter((r) => r.label === SHIFT.emotion);
  const strongShiftPool = shiftPool.filter((r) => FEAR_WORDS.test(r.text));
  const slots = schedule(random);
  // Markup captions land in the second half of the stream so they reach the live part of a demo.
  const markupAt = new Set(MARKUP_TEXTS.map((_, i) => Math.floor(slots.length * (0.55 + 0.1 * i))));
  const posts: Post[] = [];
  const markupIds: string[] = [];
  slots.forEach((slot, index) => {
    const id = String(700_000_000_000 + index * 7 + random.int(7));
    let row: SourceRow;
    if (markupAt.has(index)) {
      const text = MARKUP_TEXTS[markupIds.length] ?? '';
      row = { text, label: 'surprised' };
      markupIds.push(id);
    } else if (slot.shifted) {
      // Nearly all shift texts say "scared" plainly; a few are the subtler ones, as real posts would be.
      row = random.next() < 0.95 && strongShiftPool.length > 0 ? random.pick(strongShiftPool) : random.pick(shiftPool);
    } else {
      row = random.pick(rows);
    }
    const blog = blogName(random);
    const post = PostSchema.parse({
      id,
      blog,
      url: `https://${blog}.example.com/post/${id}`,
      timestamp: slot.timestamp,
      topics: [slot.topic],
      tags: [slot.topic, row.label, random.pick(EXTRA_TAGS[slot.topic])],
      text: row.text,
      imageUrl: null,
      noteCount: random.int(50),
      source: 'archive',
      label: row.label,
      ingestedAt: slot.timestamp + 1_000 + random.int(4_000),
    });
    posts.push(post);
  });
  return { posts, markupIds };
}

async function main(): Promise<void> {
  const { values } = parseCommandLineOrExit({
    command: 'npm run demo:build',
    summary: 'build the bundled demo stream (data/demo/stream.ndjson + manifest.json) from the GoEmotions test texts',
    options: {
      data: { type: 'string', valueName: 'DIR', default: resolve(ROOT, '..', 'shared', 'data'), description: 'shared data folder (reads goemotions/ekman6_test.tsv)' },
      out: { type: 'string', valueName: 'DIR', default: join(ROOT, 'data', 'demo'), description: 'where stream.ndjson and manifest.json go' },
      seed: { type: 'number', integer: true, default: 20240601, description: 'seed: the same source file and seed give the same bytes' },
    },
    notes: 'Synthetic posts around real texts: fictional blogs, five invented event topics and one planted mood shift, so the embedded demo raises a spike alert soon after start. The output is committed.',
  });
  const seed = values.seed;
  const { rows, sha256 } = await readSource(values.data);
  const { posts, markupIds } = buildStream(rows, seed);
  const manifest: DemoManifest = DemoManifestSchema.parse({
    file: 'stream.ndjson',
    posts: posts.length,
    seed,
    streamStart: STREAM_START,
    durationMinutes: DURATION_MINUTES,
    topics: [...TOPICS],
    postsPerTopicPerMinute: POSTS_PER_TOPIC_PER_MINUTE,
    plantedShift: { ...SHIFT },
    markupPosts: markupIds,
    source: { name: 'GoEmotions (Demszky et al., ACL 2020), Ekman-grouped test split', licence: 'CC BY 4.0', file: SOURCE_FILE, sha256 },
  });
  await mkdir(values.out, { recursive: true });
  const ndjson = posts.map((p) => JSON.stringify(p)).join('\n') + '\n';
  await writeFile(join(values.out, manifest.file), ndjson);
  await writeFile(join(values.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const byLabel = Object.fromEntries(EMOTIONS.map((e) => [e, posts.filter((p) => p.label === e).length]));
  console.log(
    `wrote ${posts.length} posts (${(Buffer.byteLength(ndjson) / 1e6).toFixed(2)} MB) to ${relative(process.cwd(), join(values.out, manifest.file))}; labels ${JSON.stringify(byLabel)}`,
  );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`demo:build failed: ${(error as Error).message}`);
    process.exit(1);
  });
}
