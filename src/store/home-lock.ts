import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { pathToFileURL } from "node:url";

/** Who owns a SQLite database: enough to name the holder when a second server is refused. */
export interface HomeLockHolder {
  pid: number;
  /** The kernel's start time of `pid` (clock ticks since boot): tells the holder from a recycled pid. */
  startTime: string | null;
  /** Where it listens, once it does; before that, the host and port it was configured with. */
  url: string | null;
  host: string;
  port: number;
  since: string;
}

/** A second server was refused: the database is owned by `holder` (undefined when it could not be read). */
export class HomeLockedError extends Error {
  readonly dbPath: string;
  readonly holder: HomeLockHolder | undefined;

  constructor(dbPath: string, holder: HomeLockHolder | undefined) {
    const who = holder
      ? `Baton pid ${holder.pid} at ${holder.url ?? `port ${holder.port} (still starting)`}`
      : "another Baton";
    super(
      `${dbPath} is in use by ${who} (one Baton per database): stop that one first, ` +
        "or give this one another --home or --db",
    );
    this.name = "HomeLockedError";
    this.dbPath = dbPath;
    this.holder = holder;
  }
}

export interface HomeLock {
  readonly path: string;
  /** Records the URL the server listens on, for the message a refused second server prints. */
  announce(url: string): void;
  /** Gives the database up (graceful stop). A crash or `kill -9` gives it up too: the kernel drops the lock. */
  release(): void;
}

// The lock file is a database of its own, not Baton's schema: its SQL lives here, not in a *-queries.ts file.
const CLAIM = `
  BEGIN EXCLUSIVE;
  CREATE TABLE IF NOT EXISTS holder (
    pid INTEGER NOT NULL, start_time TEXT, url TEXT, host TEXT NOT NULL, port INTEGER NOT NULL, since TEXT NOT NULL
  );
  DELETE FROM holder;`;
const SQLITE_BUSY = 5;

/**
 * Takes the exclusive ownership lock of the SQLite database at `dbPath`, or throws HomeLockedError naming
 * the process that has it. The lock is a kernel file lock (fcntl, through SQLite's locking_mode=EXCLUSIVE on
 * `<db>.lock`): it lives exactly as long as the owning process, so a `kill -9` leaves no stale lock to detect
 * and no pid to trust. The holder's pid, start time and URL are stored inside the lock file, readable while
 * locked through SQLite's `immutable` mode. See docs/architecture.md, "One server per database".
 */
export function acquireHomeLock(
  dbPath: string,
  self: { pid: number; startTime: string | undefined; host: string; port: number },
): HomeLock {
  const path = `${dbPath}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  try {
    // Never wait: a held lock is held by a live server, and the answer is to refuse at once.
    db.exec("PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE;");
    db.exec(CLAIM);
  } catch (error) {
    db.close();
    if ((error as { errcode?: number }).errcode === SQLITE_BUSY)
      throw new HomeLockedError(dbPath, readHolder(path));
    throw error;
  }
  // The file stays: deleting it would let a starter lock an unlinked file while another creates a new one.
  db.prepare("INSERT INTO holder (pid, start_time, url, host, port, since) VALUES (?, ?, NULL, ?, ?, ?)").run(
    self.pid,
    self.startTime ?? null,
    self.host,
    self.port,
    new Date().toISOString(),
  );
  // In EXCLUSIVE locking mode the commit keeps the file lock: it is held until the connection closes.
  db.exec("COMMIT");
  let released = false;
  return {
    path,
    announce(url) {
      if (!released) db.prepare("UPDATE holder SET url = ?").run(url);
    },
    release() {
      if (released) return;
      released = true;
      db.exec("DELETE FROM holder");
      db.close();
    },
  };
}

/** The holder's row, read without taking any lock (SQLite's immutable mode), or undefined if unreadable. */
function readHolder(path: string): HomeLockHolder | undefined {
  const url = pathToFileURL(path);
  url.searchParams.set("immutable", "1");
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(url, { readOnly: true });
    const row = db.prepare("SELECT pid, start_time, url, host, port, since FROM holder LIMIT 1").get() as
      | {
          pid: number;
          start_time: string | null;
          url: string | null;
          host: string;
          port: number;
          since: string;
        }
      | undefined;
    if (!row) return undefined;
    return {
      pid: Number(row.pid),
      startTime: row.start_time,
      url: row.url,
      host: row.host,
      port: Number(row.port),
      since: row.since,
    };
  } catch {
    // The holder is rewriting its row at this very moment (it does so once, when it starts listening).
    return undefined;
  } finally {
    db?.close();
  }
}
