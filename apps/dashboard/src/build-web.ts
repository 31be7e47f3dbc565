import { errorMessage } from '@moodstream/core';
import { ensureNextBuild } from './server/next-build';

/**
 * `npm run build:web -w @moodstream/dashboard [-- --force]`: builds the browser views ahead of time (an image build,
 * CI), so the first start does not. Without --force it returns at once when the build is current.
 */
const force = process.argv.includes('--force');
ensureNextBuild({ force, onProgress: (line) => process.stdout.write(`${line}\n`) }).then(
  ({ built, ms }) => process.stdout.write(built ? '' : `dashboard: the build is current (checked in ${ms} ms)\n`),
  (error: unknown) => {
    process.stderr.write(`${errorMessage(error)}\n`);
    process.exit(1);
  },
);
