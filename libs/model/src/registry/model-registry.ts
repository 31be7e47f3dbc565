import { existsSync } from 'node:fs';
import { appendFile, cp, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ValidationError } from '@moodstream/core';
import { ModelFormatError } from '../errors';

/** The registry's pointer to the promoted version: what a running scorer follows. */
export const CURRENT_FILE = 'CURRENT.json';
/** One line per promotion, oldest first: the audit trail of what served when. */
export const HISTORY_FILE = 'history.ndjson';

export const CurrentPointerSchema = z.object({
  version: z.string().min(1).max(64),
  promotedAt: z.number().int().nonnegative(),
  previous: z.string().nullable(),
  reason: z.string(),
});
export type CurrentPointer = z.infer<typeof CurrentPointerSchema>;

const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * A folder of versioned model folders (`<root>/<version>/` with config, weights, card and metrics) and
 * one pointer file naming the promoted version. The pointer is replaced atomically (write then
 * rename), so a reader sees the old or the new version, never half a file. `models/default` stays the
 * shipped model; the registry starts empty and a scorer without a promoted version serves its own.
 */
export class ModelRegistry {
  constructor(readonly root: string) {}

  dirOf(version: string): string {
    if (!VERSION_RE.test(version)) throw new ValidationError(`model version '${version}' is not [A-Za-z0-9._-], ≤ 64 characters`);
    return path.join(this.root, version);
  }

  /** Versions stored, sorted by name. */
  async versions(): Promise<string[]> {
    if (!existsSync(this.root)) return [];
    const entries = await readdir(this.root, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && existsSync(path.join(this.root, e.name, 'config.json'))).map((e) => e.name).sort();
  }

  /** The promoted version, or null when nothing was promoted yet. A malformed pointer is an error, not "none". */
  async current(): Promise<CurrentPointer | null> {
    let raw: string;
    try {
      raw = await readFile(path.join(this.root, CURRENT_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const parsed = CurrentPointerSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) throw new ModelFormatError(`${path.join(this.root, CURRENT_FILE)} is not a registry pointer`);
    return parsed.data;
  }

  /** Copies a complete model folder in as `version` (refuses to overwrite one). */
  async add(version: string, fromDir: string): Promise<string> {
    const dir = this.dirOf(version);
    if (existsSync(dir)) throw new ValidationError(`registry version ${version} exists already`);
    await mkdir(this.root, { recursive: true });
    await cp(fromDir, dir, { recursive: true });
    return dir;
  }

  /** Points CURRENT at `version` (which must be stored) and appends the promotion to the history. */
  async promote(version: string, reason: string, now = Date.now()): Promise<CurrentPointer> {
    if (!existsSync(path.join(this.dirOf(version), 'config.json'))) throw new ValidationError(`registry has no version ${version}`);
    const previous = (await this.current())?.version ?? null;
    const pointer: CurrentPointer = { version, promotedAt: now, previous, reason };
    const tmp = path.join(this.root, `.${CURRENT_FILE}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(pointer, null, 2) + '\n');
    await rename(tmp, path.join(this.root, CURRENT_FILE));
    await appendFile(path.join(this.root, HISTORY_FILE), JSON.stringify(pointer) + '\n');
    return pointer;
  }

  /** Folder of the promoted version, or `fallback` (the shipped model) when none is promoted. */
  async currentDir(fallback: string): Promise<string> {
    const pointer = await this.current();
    return pointer === null ? fallback : this.dirOf(pointer.version);
  }
}
