/**
 * Runs the Tumblr stand-in on its own, for development without an API key:
 *
 *   npm run standin -- [--port 8787] [--tags happy,sad,…] [--per-tag 200] [--overlap 0.2]
 *
 * then point the ingester at it: TUMBLR_API_URL=http://127.0.0.1:8787 TUMBLR_API_KEY=standin-key.
 * Fixture timestamps end at the moment it starts, so a live ingester finds them within its lookback.
 */
import { parseArgs } from 'node:util';
import { EMOTIONS } from '@moodstream/events';
import { STANDIN_DEFAULT_KEY, generateTaggedPosts, startTumblrStandIn } from '../src/index';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8787' },
    tags: { type: 'string', default: EMOTIONS.join(',') },
    'per-tag': { type: 'string', default: '200' },
    overlap: { type: 'string', default: '0.2' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help === true) {
  process.stdout.write('npm run standin -- [--port 8787] [--tags a,b] [--per-tag 200] [--overlap 0.2]\n');
  process.exit(0);
}
const tags = values.tags.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
const { posts, ids } = generateTaggedPosts({
  tags,
  perTag: Number(values['per-tag']),
  overlap: Number(values.overlap),
  newestTimestamp: Math.floor(Date.now() / 1000),
  spacingSeconds: 5,
});
const standIn = await startTumblrStandIn({ port: Number(values.port), posts });
process.stdout.write(`Tumblr stand-in on ${standIn.url} — ${ids.length} posts under ${tags.join(', ')}; key "${STANDIN_DEFAULT_KEY}"\n`);
const close = (): void => {
  void standIn.close().then(() => process.exit(0));
};
process.on('SIGINT', close);
process.on('SIGTERM', close);
