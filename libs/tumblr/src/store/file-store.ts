import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MemoryIngestStore, type StoreOp } from './memory-store';

/**
 * Embedded-mode store: an append-only journal of operations, one JSON line each, replayed at open and
 * compacted into a snapshot then. `appendFileSync` hands each line to the kernel before returning, so a
 * `kill -9` loses nothing that was acknowledged; a torn last line (power loss) is ignored on replay.
 */
export class FileIngestStore extends MemoryIngestStore {
  override readonly kind = 'file' as const;
  private linesSinceCompaction = 0;

  private constructor(private readonly path: string, maxProduced: number) {
    super({ maxProduced });
  }

  static open(path: string, options: { maxProduced?: number } = {}): FileIngestStore {
    const store = new FileIngestStore(path, options.maxProduced ?? 500_000);
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          store.state.apply(JSON.parse(line) as StoreOp);
        } catch {
          // A torn final line from a crash mid-write: everything before it is intact.
        }
      }
    }
    store.compact();
    return store;
  }

  protected override record(op: StoreOp): Promise<void> {
    this.state.apply(op);
    appendFileSync(this.path, JSON.stringify(op) + '\n');
    if (++this.linesSinceCompaction > 5_000) this.compact();
    return Promise.resolve();
  }

  /** Rewrites the journal as the minimal set of operations that rebuild the current state. */
  private compact(): void {
    const snapshot: StoreOp = {
      t: 'snapshot',
      cursors: [...this.state.cursors],
      produced: [...this.state.produced],
      pending: this.state.pending,
      budget: this.state.budget,
    };
    const temp = `${this.path}.tmp`;
    writeFileSync(temp, JSON.stringify(snapshot) + '\n');
    renameSync(temp, this.path);
    this.linesSinceCompaction = 0;
  }
}
