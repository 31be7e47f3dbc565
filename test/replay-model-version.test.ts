import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Post } from '@moodstream/events';
import { DEFAULT_MODEL_DIR, ModelRegistry } from '@moodstream/model';
import { registryRescorer, SHIPPED_MODEL } from '@moodstream/trends';

/**
 * A re-scoring replay's model versions, on a real registry folder: a copy of the shipped model stored as version
 * `v-test` (its config says so, as `npm run learn` writes it). Loads TensorFlow.js twice (~ seconds).
 */

let root = '';
const registryDir = () => join(root, 'registry');

const post = (id: string, text: string): Post => ({
  id,
  blog: 'b',
  url: `https://b.example/post/${id}`,
  timestamp: 1_700_000_000_000,
  topics: ['winter'],
  tags: [],
  text,
  imageUrl: null,
  noteCount: null,
  source: 'archive',
  label: null,
  ingestedAt: 1_700_000_000_000,
});

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'replay-model-version-'));
  const version = join(registryDir(), 'v-test');
  await cp(DEFAULT_MODEL_DIR, version, { recursive: true });
  const config = JSON.parse(await readFile(join(version, 'config.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(version, 'config.json'), JSON.stringify({ ...config, version: 'v-test' }));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('lists the registry versions and the shipped model; no version means the promoted one, else the shipped model', async () => {
  const rescorer = registryRescorer({ registryDir: registryDir(), shippedDir: DEFAULT_MODEL_DIR });
  assert.deepEqual(await rescorer.versions(), [SHIPPED_MODEL, 'v-test']);
  assert.equal(await rescorer.resolve(null), SHIPPED_MODEL, 'nothing promoted yet');
  await new ModelRegistry(registryDir()).promote('v-test', 'test');
  assert.equal(await rescorer.resolve(null), 'v-test');
  assert.equal(await rescorer.resolve('default'), 'default');
});

test("re-scored posts carry the chosen version's modelVersion, and the same weights score the same", async () => {
  const rescorer = registryRescorer({ registryDir: registryDir(), shippedDir: DEFAULT_MODEL_DIR });
  const posts = [post('1', 'I am so scared of the storm tonight'), post('2', 'what a lovely happy day at the beach')];
  const chosen = await rescorer.load('v-test');
  assert.equal(await rescorer.load('v-test'), chosen, 'loaded once per version');
  const scored = await chosen(posts);
  assert.deepEqual(scored.map((s) => s.modelVersion), ['v-test', 'v-test']);
  assert.deepEqual(scored.map((s) => s.postId), ['1', '2']);
  const shipped = await (await rescorer.load(SHIPPED_MODEL))(posts);
  const shippedVersion = (JSON.parse(await readFile(join(DEFAULT_MODEL_DIR, 'config.json'), 'utf8')) as { version: string }).version;
  assert.deepEqual(shipped.map((s) => s.modelVersion), [shippedVersion, shippedVersion]);
  assert.deepEqual(shipped.map((s) => s.probabilities), scored.map((s) => s.probabilities), 'a copy of the shipped model scores alike');
});
