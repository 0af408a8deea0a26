import { type FileHandle, open } from "node:fs/promises";

/**
 * Makes SQLite commits durable without blocking the event loop.
 *
 * node:sqlite is synchronous, so with `synchronous = FULL` every commit's fsync stalled all of Baton (HTTP,
 * WebSocket fan-out, timers) for a millisecond or more; at a thousand commits a second that was a quarter
 * of the time. Baton runs the connection at `synchronous = NORMAL` instead, which in WAL mode does every
 * fsync FULL does except the one after each commit, and does that one here: `fdatasync` of the WAL file on
 * libuv's thread pool. Commits that land while a sync is in flight share the next one (group commit).
 *
 * The contract: `durable()` resolves once every commit made before the call is on disk. Nothing is
 * acknowledged or published before that (Store.transaction, the HTTP onSend hook and event reads await it),
 * so a power loss can only take commits no client has heard of, exactly as with FULL.
 */
export class WalSync {
  private readonly walPath: string;
  private readonly fsync: (handle: FileHandle) => Promise<void>;
  private handle: Promise<FileHandle> | undefined;
  /** Commits counted so far, and how many of them a finished sync covered. */
  private committed = 0;
  private synced = 0;
  private running: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    databasePath: string,
    fsync: (handle: FileHandle) => Promise<void> = (handle) => handle.datasync(),
  ) {
    this.walPath = `${databasePath}-wal`;
    this.fsync = fsync;
  }

  /** Called synchronously right after SQLite wrote a commit to the WAL. */
  noteCommit(): void {
    this.committed += 1;
  }

  /** Resolves when every commit noted before this call is on disk; rejects if a sync ever failed. */
  async durable(): Promise<void> {
    const target = this.committed;
    while (this.synced < target) {
      if (this.failure) throw this.failure;
      this.running ??= this.syncOnce().finally(() => {
        this.running = undefined;
      });
      await this.running;
    }
  }

  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    const handle = await this.handle?.catch(() => undefined);
    this.handle = undefined;
    await handle?.close();
  }

  /** One fdatasync, covering every commit noted before it started. */
  private async syncOnce(): Promise<void> {
    const covers = this.committed;
    try {
      // The WAL exists once the first commit wrote to it, and SQLite keeps the file (same inode) while the
      // connection is open, so one handle serves for the store's life.
      this.handle ??= open(this.walPath, "r+");
      await this.fsync(await this.handle);
    } catch (error) {
      // After a failed fsync the kernel may have dropped the dirty pages and a later fsync would succeed
      // anyway, so no later commit can be called durable either (PostgreSQL panics for the same reason).
      this.failure = new Error(
        `fsync of ${this.walPath} failed (${(error as Error).message}); commits since the last good sync may ` +
          "not be on disk, so Baton refuses to acknowledge any more: restart it",
        { cause: error },
      );
      throw this.failure;
    }
    this.synced = Math.max(this.synced, covers);
  }
}
