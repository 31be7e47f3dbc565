import { readFile } from 'node:fs/promises';
import { seededRandom } from '@moodstream/core';
import { EMOTIONS, type Emotion } from '@moodstream/events';
import { buildPost, escapeHtml, type GeneratedFixtures } from './fixtures';

/** One labelled text (e.g. a CARER train row): what a user wrote and the emotion tag they gave it. */
export interface LabelledText {
  text: string;
  label: Emotion;
}

export interface SelfLabelledOptions {
  /** Newest post timestamp, epoch seconds; older posts step back from it (rows are in order, newest last). */
  newestTimestamp?: number;
  spacingSeconds?: number;
  seed?: number;
  firstId?: bigint;
}

/** Other tags people put beside an emotion tag. */
const COMPANION_TAGS = ['feelings', 'personal', 'me', 'life', 'thoughts', 'mood', 'diary', 'rant', 'text post'];

/**
 * Reads `text<TAB>label` rows (header optional; the label one of the six emotions). Used at run time by the
 * learn demo on `../shared/data/carer/ekman6_train.tsv` — never copied into the project; tests pass a
 * small generated file. A line with another label is an error, not skipped silently.
 */
export async function readLabelledTexts(file: string): Promise<LabelledText[]> {
  const out: LabelledText[] = [];
  (await readFile(file, 'utf8')).split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const tab = line.lastIndexOf('\t');
    const text = line.slice(0, tab);
    const label = line.slice(tab + 1).trim().toLowerCase();
    if (i === 0 && text === 'text' && label === 'label') return;
    if (tab < 0 || !(EMOTIONS as readonly string[]).includes(label)) throw new Error(`${file}:${i + 1}: expected text<TAB>one of ${EMOTIONS.join('|')}`);
    out.push({ text, label: label as Emotion });
  });
  return out;
}

/**
 * Self-labelled Tumblr posts from labelled texts, the way people tag: the emotion tag among other tags,
 * in any case and position, sometimes also as a hashtag at the end of the text (the ingester removes it
 * from the text and takes the label from the tags, as with real posts). Text posts (legacy HTML), oldest
 * first in `rows` order, distinct timestamps; each is found under its emotion tag.
 */
export function selfLabelledPosts(rows: readonly LabelledText[], options: SelfLabelledOptions = {}): GeneratedFixtures {
  const random = seededRandom(options.seed ?? 11);
  const spacing = options.spacingSeconds ?? 3;
  const newest = options.newestTimestamp ?? 1_700_000_000;
  const firstId = options.firstId ?? 733_000_000_000_000_000n;
  const idsByTag = new Map<string, string[]>();
  const posts = rows.map((row, i) => {
    const id = firstId + BigInt(i);
    const variant = random();
    const tag = variant < 0.7 ? row.label : variant < 0.9 ? row.label[0]!.toUpperCase() + row.label.slice(1) : row.label.toUpperCase();
    const companions = COMPANION_TAGS.filter(() => random() < 0.25);
    const before = companions.slice(0, Math.floor(random() * (companions.length + 1)));
    const after = companions.slice(before.length);
    const hashtag = random() < 0.3 ? ` #${row.label}` : '';
    const post = buildPost({ id, timestamp: newest - (rows.length - 1 - i) * spacing, watched: [tag], format: 'legacy-text', leadingTags: before, text: `<p>${escapeHtml(row.text)}${hashtag}</p>`, random });
    // buildPost appends one extra tag after the watched one; the companions that come after go after it.
    post['tags'] = [...(post['tags'] as string[]), ...after];
    const list = idsByTag.get(row.label) ?? [];
    list.push(id.toString());
    idsByTag.set(row.label, list);
    return post;
  });
  return { posts, idsByTag, ids: posts.map((p) => p['id_string'] as string) };
}
