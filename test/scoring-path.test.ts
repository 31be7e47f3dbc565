import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '@moodstream/core';
import { createMemoryBus, type RawBusRecord } from '@moodstream/bus';
import { HEADERS, PostSchema, ScoredPostSchema, TOPICS, type Post, type ScoredPost, type ScoredPostInput } from '@moodstream/events';
import { loadModels, type LoadedModels } from '@moodstream/scorer';
import { createTestScorer, readScored, testScorerConfig, waitFor } from '@moodstream/scorer/testing';
import { createTextRescorer } from '@moodstream/trends';

/** One scoring path: the scorer and a re-scoring replay give a post the same scores, and the bus refuses a ScoredPost that disagrees with itself. */

const goodScored: ScoredPostInput = {
  postId: '1',
  topics: ['winter'],
  timestamp: 1_700_000_000_000,
  probabilities: [0.62, 0.08, 0.05, 0.15, 0.06, 0.04],
  topEmotion: 'happy',
  modality: 'text',
  explicit: null,
  modelVersion: 'm-1',
  latencies: {},
  scoredAt: 1_700_000_001_000,
};

test('a ScoredPost whose topEmotion is not its argmax is dead-lettered at the edge with the reason; the producer refuses to send one', async () => {
  const bus = createMemoryBus();
  const topic = 'scored-edge';
  const dlq = 'scored-edge.dead-letter';
  await bus.ensureTopics([{ name: topic, partitions: 1 }, { name: dlq, partitions: 1 }]);
  const producer = await bus.producer();
  await assert.rejects(
    producer.send(topic, 'ScoredPost', [{ key: 'k', value: { ...goodScored, postId: 'refused', topEmotion: 'surprised' } }]),
    /refusing to produce an invalid ScoredPost: topEmotion: must be the most probable emotion 'happy' \(0\.62\), not 'surprised' \(0\.15\)/,
  );
  // A producer that does not validate (another service, an older version) gets it onto the topic anyway.
  await producer.sendRaw(topic, [{ key: 'k', value: JSON.stringify({ ...goodScored, postId: 'wrong-top', topEmotion: 'sad' }) }]);
  await producer.send(topic, 'ScoredPost', [{ key: 'k', value: { ...goodScored, postId: 'fine' } }]);

  const received: string[] = [];
  const reasons: string[] = [];
  const consumer = bus.consumer({
    groupId: 'edge',
    topics: [topic],
    eventType: 'ScoredPost',
    deadLetterTopic: dlq,
    fromBeginning: true,
    handler: async (records) => void received.push(...records.map((r) => r.value.postId)),
    onDeadLetter: (reason) => reasons.push(reason),
  });
  await consumer.start();
  const deadline = Date.now() + 5_000;
  while (received.length < 1 || reasons.length < 1) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the consumer');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const expected = "invalid ScoredPost: topEmotion: must be the most probable emotion 'happy' (0.62), not 'sad' (0.08)";
  assert.deepEqual(received, ['fine']);
  assert.deepEqual(reasons, [expected]);
  const letters: RawBusRecord[] = [];
  for await (const batch of bus.readRawByTime!({ topic: dlq, from: 0, to: Number.MAX_SAFE_INTEGER })) letters.push(...batch);
  assert.equal(letters.length, 1);
  assert.equal(letters[0]?.headers[HEADERS.dlqReason], expected);
  assert.equal(JSON.parse(letters[0]!.value!.toString('utf8')).postId, 'wrong-top', 'the original record is kept');
  await consumer.stop();
  await producer.close();
  await bus.close();
});

let models: LoadedModels;
let rescore: (posts: Post[]) => Promise<ScoredPost[]>;

before(async () => {
  models = await loadModels(process.env['SCORER_MODEL_DIR'] ?? '');
  rescore = await createTextRescorer(process.env['SCORER_MODEL_DIR'] || undefined);
});
after(() => models.scorer.dispose());

const post = (id: string, text: string, imageUrl: string | null = null): Post =>
  PostSchema.parse({
    id,
    blog: 'b',
    url: `https://b.tumblr.com/post/${id}`,
    timestamp: 1_700_000_000_000,
    topics: ['exams'],
    tags: ['exams'],
    text,
    imageUrl,
    noteCount: 0,
    source: 'live',
    label: null,
    ingestedAt: 1_700_000_000_500,
  });

test("the scorer's and the re-scorer's ScoredPost for the same post agree: same probabilities, topEmotion, modality, model version", async () => {
  const posts = [
    post('1', 'I cannot believe I failed again, this is awful'),
    post('2', 'best day ever!!! 😂 so proud of everyone'),
    post('3', 'wait WHAT, nobody told me'),
    post('4', 'the smell in the kitchen made me gag'),
    post('5', ''),
    // The scorer refuses to fetch this address (no network used), so it scores the post on its text, as the replay does.
    post('6', 'this was terrifying at night', 'http://169.254.169.254/6.jpg'),
  ];
  // The scorer app as deployed (on this thread), fed through the bus: its output is what the scored topic carries.
  const logger = createLogger('scoring-path-test', { level: 'warn' });
  const bus = createMemoryBus({ logger });
  const scorer = createTestScorer({ config: testScorerConfig({ SCORER_WORKERS: '0', SCORER_BATCH_MAX_AGE_MS: '5' }), bus, logger, model: models });
  const reader = await readScored(bus);
  await scorer.app.start();
  const producer = await bus.producer();
  await producer.send(TOPICS.posts, 'Post', posts.map((p) => ({ key: p.id, value: p })));
  await waitFor('every post scored', () => reader.count() >= posts.length, { timeoutMs: 30_000, scorer });
  const fromScorer = posts.map((p) => ScoredPostSchema.parse(reader.byId.get(p.id)![0]));
  await scorer.app.stop();
  await reader.stop();
  await producer.close();
  await bus.close();
  const fromReplay = (await rescore(posts)).map((s) => ScoredPostSchema.parse(s));
  assert.match(fromScorer[5]!.imageError ?? '', /^IMAGE_/, 'the scorer tried the image and fell back to text');
  assert.equal(fromScorer.length, posts.length);
  assert.equal(fromReplay.length, posts.length);
  for (let i = 0; i < posts.length; i++) {
    const [a, b] = [fromScorer[i]!, fromReplay[i]!];
    // Equal up to float rounding: the fused network runs on ONNX Runtime, whose matrix kernels round the last bits
    // differently for other batch sizes (the scorer's batches follow the partitions, the re-scorer's do not).
    a.probabilities.forEach((p, k) => assert.ok(Math.abs(p - b.probabilities[k]!) < 1e-6, `post ${posts[i]!.id}: probability ${k} ${p} vs ${b.probabilities[k]}`));
    assert.equal(a.topEmotion, b.topEmotion, `post ${posts[i]!.id}: topEmotion`);
    assert.equal(a.modality, b.modality, `post ${posts[i]!.id}: modality`);
    assert.equal(a.modelVersion, b.modelVersion);
    for (const probabilities of [a.probabilities, b.probabilities]) assert.ok(Math.abs(probabilities.reduce((s, p) => s + p, 0) - 1) < 1e-12, 'the same normalisation');
  }
  assert.ok(new Set(fromScorer.map((s) => s.topEmotion)).size >= 2, 'the posts are not all scored alike');
});
