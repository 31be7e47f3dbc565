import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { DashboardConfigSchema } from '@moodstream/dashboard';
import { IngesterConfigSchema } from '@moodstream/ingester';
import { ScorerConfigSchema } from '@moodstream/scorer';
import { trendsConfigSchema } from '@moodstream/trends';
import { StartConfigSchema } from '../scripts/start/config';
import { REPO_ROOT } from '../scripts/start/paths';

/** Keeps the README's configuration table honest: every variable an app's schema reads is named there. */
const SCHEMAS: Record<string, z.ZodObject<z.ZodRawShape>> = {
  'npm start': StartConfigSchema,
  ingester: IngesterConfigSchema as unknown as z.ZodObject<z.ZodRawShape>,
  scorer: ScorerConfigSchema,
  dashboard: DashboardConfigSchema,
  trends: trendsConfigSchema,
};

describe('README configuration section', () => {
  it('names every variable of every app config schema', async () => {
    const readme = await readFile(resolve(REPO_ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('## Configuration');
    assert.ok(start >= 0, 'README has a Configuration section');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const missing = Object.entries(SCHEMAS).flatMap(([app, schema]) =>
      Object.keys(schema.shape)
        .filter((key) => !section.includes(`\`${key}\``))
        .map((key) => `${app}: ${key}`),
    );
    assert.deepEqual(missing, []);
  });
});
