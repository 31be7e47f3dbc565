import { Vocabulary } from '../src/text/vocabulary';
import { gaussian, makeRng } from '../src/train/rng';

/** A small vocabulary with seeded random vectors (tests never load the 300 MB GloVe JSON). */
export function tinyVocabulary(words: readonly string[], dim = 8, seed = 7): Vocabulary {
  const all = ['<pad>', '<unk>', ...words];
  const rng = makeRng(seed);
  const vectors = new Float32Array(all.length * dim);
  for (let i = dim; i < vectors.length; i++) vectors[i] = 0.5 * gaussian(rng);
  return new Vocabulary(all, dim, vectors);
}
