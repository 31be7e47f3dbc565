import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, resolved from this file so the launcher works from any cwd. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
