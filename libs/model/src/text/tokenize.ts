import { textTokens } from './preprocess';
import { PAD_ID, type Vocabulary } from './vocabulary';

/**
 * Maps text to exactly maxLen token ids, pre-padded with PAD_ID (0) so the LSTM reads real tokens
 * last; texts longer than maxLen keep their first maxLen tokens. Unknown tokens get UNKNOWN_ID (1).
 */
export function tokenize(text: string, vocab: Pick<Vocabulary, 'id'>, maxLen: number): Int32Array {
  const tokens = textTokens(text).slice(0, maxLen);
  const ids = new Int32Array(maxLen).fill(PAD_ID);
  const start = maxLen - tokens.length;
  tokens.forEach((t, i) => {
    ids[start + i] = vocab.id(t);
  });
  return ids;
}
