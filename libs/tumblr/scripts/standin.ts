/**
 * Runs the Tumblr stand-in on its own, for development without an API key:
 *
 *   npm run standin -- [--port 8787] [--tags happy,sad,…] [--per-tag 200] [--overlap 0.2]
 *
 * then point the ingester at it: TUMBLR_API_URL=http://127.0.0.1:8787 TUMBLR_API_KEY=standin-key.
 * Fixture timestamps end at the moment it starts, so a live ingester finds them within its lookback.
 */
import { parseCommandLineOrExit } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { STANDIN_DEFAULT_KEY, generateTaggedPosts, startTumblrStandIn } from '../src/index';

const { values } = parseCommandLineOrExit({
  command: 'npm run standin',
  summary: 'run the local Tumblr API stand-in, for development without an API key',
  options: {
    port: { type: 'number', default: 8787, integer: true, nonNegative: true, description: 'loopback port (0 picks one)' },
    tags: { type: 'string', valueName: 'LIST', default: EMOTIONS.join(','), description: 'tags to serve posts under (comma list)' },
    'per-tag': { type: 'number', default: 200, integer: true, nonNegative: true, description: 'posts per tag' },
    overlap: { type: 'number', default: 0.2, nonNegative: true, description: 'chance that a post also carries a second served tag' },
  },
  notes: `Then point the ingester at it: TUMBLR_API_URL=http://127.0.0.1:8787 TUMBLR_API_KEY=${STANDIN_DEFAULT_KEY}. The posts' timestamps end when it starts, so a live ingester finds them within its lookback.`,
});
const tags = values.tags.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
const { posts, ids } = generateTaggedPosts({
  tags,
  perTag: values['per-tag'],
  overlap: values.overlap,
  newestTimestamp: Math.floor(Date.now() / 1000),
  spacingSeconds: 5,
});
const standIn = await startTumblrStandIn({ port: values.port, posts });
process.stdout.write(`Tumblr stand-in on ${standIn.url} — ${ids.length} posts under ${tags.join(', ')}; key "${STANDIN_DEFAULT_KEY}"\n`);
const close = (): void => {
  void standIn.close().then(() => process.exit(0));
};
process.on('SIGINT', close);
process.on('SIGTERM', close);
