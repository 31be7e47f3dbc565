import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EMOTIONS } from '@moodstream/events';
import { parseTumblrPost, readLabelledTexts, selfLabelledPosts, startTumblrStandIn, type ParseContext } from '../src/index';

/** A small generated fixture in the CARER file format (text<TAB>label; no 'disgusted'): the real file is never read by tests. */
const FEELINGS: Record<string, string[]> = {
  happy: ['i feel so content with how today went', 'im feeling cheerful after the long walk'],
  sad: ['i feel so lonely since my friend moved away', 'i feel gloomy and tired of everything'],
  angry: ['i feel furious about the way they treated us', 'im feeling irritated by the endless noise'],
  scared: ['i feel nervous about the exam tomorrow morning', 'i feel terrified walking home in the dark'],
  surprised: ['i feel amazed by how quickly the garden grew', 'i feel stunned that they remembered my name'],
};

async function fixtureFile(dir: string): Promise<string> {
  const rows = Array.from({ length: 50 }, (_, i) => {
    const label = Object.keys(FEELINGS)[i % 5]!;
    return `${FEELINGS[label]![i % 2]} number ${i}\t${label}`;
  });
  const file = path.join(dir, 'labelled.tsv');
  await writeFile(file, ['text\tlabel', ...rows].join('\n') + '\n');
  return file;
}

test('self-labelled stand-in posts carry their emotion as a user would tag it; parsed, the label comes back and the hashtag leaves the text', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'self-labelled-'));
  try {
    const rows = await readLabelledTexts(await fixtureFile(dir));
    assert.equal(rows.length, 50);
    const { posts, idsByTag } = selfLabelledPosts(rows, { newestTimestamp: 1_700_000_000, spacingSeconds: 2 });
    assert.equal(posts.length, 50);
    assert.deepEqual([...idsByTag.keys()].sort(), ['angry', 'happy', 'sad', 'scared', 'surprised']);
    const timestamps = posts.map((p) => p['timestamp'] as number);
    assert.ok(timestamps.every((t, i) => i === 0 || t > timestamps[i - 1]!), 'oldest first, distinct timestamps');
    assert.equal(timestamps.at(-1), 1_700_000_000);
    const cased = posts.filter((p) => (p['tags'] as string[]).some((t) => (EMOTIONS as readonly string[]).includes(t.toLowerCase()) && t !== t.toLowerCase()));
    assert.ok(cased.length > 0, 'some users capitalise the tag');
    const withHashtag = posts.filter((p) => /#(happy|sad|angry|scared|surprised)</.test(p['body'] as string));
    assert.ok(withHashtag.length > 0 && withHashtag.length < posts.length, `${withHashtag.length} posts repeat the tag in the text`);

    const ctx = (tag: string): ParseContext => ({ foundUnder: tag, watchedTopics: new Set(EMOTIONS), source: 'live', ingestedAt: 1_700_000_100_000, minEnglishWords: 3 });
    posts.forEach((raw, i) => {
      const parsed = parseTumblrPost(raw, ctx(rows[i]!.label));
      assert.ok(parsed.ok, JSON.stringify(parsed));
      if (!parsed.ok) return;
      assert.equal(parsed.post.label, rows[i]!.label);
      assert.ok(!parsed.post.text.includes('#'), parsed.post.text);
      assert.ok(parsed.post.text.startsWith(rows[i]!.text.split(' ').slice(0, 3).join(' ')), parsed.post.text);
    });

    // The stand-in serves them under their tag, newest first, as it does any fixture.
    const standIn = await startTumblrStandIn({ posts });
    try {
      const answer = (await (await fetch(`${standIn.url}/v2/tagged?tag=sad&api_key=standin-key&limit=20`)).json()) as { response: Array<{ id_string: string }> };
      assert.deepEqual(answer.response.map((p) => p.id_string), [...idsByTag.get('sad')!].reverse());
    } finally {
      await standIn.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a labelled-text file with a label outside the six is refused with its line', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'self-labelled-'));
  try {
    const file = path.join(dir, 'bad.tsv');
    await writeFile(file, 'text\tlabel\ni feel fine\thappy\ni feel love\tlove\n');
    await assert.rejects(readLabelledTexts(file), /bad\.tsv:3/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
