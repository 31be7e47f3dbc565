import { test } from 'node:test';
import assert from 'node:assert/strict';
import { textTokens } from '../src/text/preprocess';

/**
 * textTokens skips a step when its text lacks the character the step needs (preprocess.ts): each case below needs
 * one step that a wrong guess would skip. Expected tokens are the ones every step run on every text gives.
 */
const CASES: [string, string[]][] = [
  // ASCII text whose entity decodes to an emoji: the emoji steps must still run after decoding.
  ['so happy &#128514; today', ['so', 'happy', '😂', 'today']],
  ['LOL &#x1F602;&#x1F602;', ['lol', '😂', '😂']],
  [':)&#128514;', ['<smile>', '😂']],
  ['it&#8217;s fine', ['it', "'s", 'fine']],
  // A backtick is ASCII and still a quote.
  ['can`t stop', ['ca', "n't", 'stop']],
  // An emoticon made of letters only.
  ['xD that was fun', ['<laugh>', 'that', 'was', 'fun']],
  ['see http://a.b/c and www.x.y now', ['see', 'and', 'now']],
  ['love it #happy #happyday', ['love', 'it', 'happyday']],
  ["I'm fine, it's ok", ['i', "'m", 'fine', 'it', "'s", 'ok']],
  ['plain words only here', ['plain', 'words', 'only', 'here']],
  // Decomposed é (e + combining acute) is composed by NFC before tokenising.
  ['cafe\u0301 time', ['café', 'time']],
  // An entity that becomes an emoticon, one that becomes punctuation.
  ['&lt;3 you', ['<heart>', 'you']],
  ['me &amp; you', ['me', 'you']],
  ['it’s fine', ['it', "'s", 'fine']],
];

for (const [text, tokens] of CASES) {
  test(`textTokens(${JSON.stringify(text)})`, () => {
    assert.deepEqual(textTokens(text), tokens);
  });
}
