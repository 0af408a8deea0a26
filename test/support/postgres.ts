import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * Throwaway PostgreSQL databases for the store contract suite and the PostgreSQL end-to-end test. Each
 * caller gets a fresh database on the local server (trust auth, as CI's .ci/start-services.sh starts it),
 * so tests never see each other's rows or seqs. `BATON_TEST_PG_URL` points at another server: any
 * database there whose role may CREATE DATABASE.
 */
const ADMIN_URLS = process.env.BATON_TEST_PG_URL
  ? [process.env.BATON_TEST_PG_URL]
  : ["postgres://postgres@127.0.0.1:5432/postgres", "postgres://root@127.0.0.1:5432/test"];
const CONNECT_TIMEOUT_MS = 3000;

export interface TestDatabase {
  /** A postgres:// URL for openStore or Baton's `db` setting. */
  url: string;
  /** Ends every connection still open to the database and drops it; idempotent. */
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const { client, url: adminUrl } = await connectAdmin();
  const name = `baton_t_${randomBytes(6).toString("hex")}`;
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    drop: () => {
      dropped ??= dropDatabase(adminUrl, name);
      return dropped;
    },
  };
}

/**
 * Why the PostgreSQL variant cannot run on this machine, or undefined when it can. Always undefined in CI:
 * there a missing server must fail the run (createTestDatabase throws, naming the cause), never skip it.
 */
export async function postgresSkipReason(): Promise<string | undefined> {
  if (process.env.CI === "true") return undefined;
  try {
    const { client } = await connectAdmin();
    await client.end();
    return undefined;
  } catch (error) {
    return `${(error as Error).message} (outside CI this is a skip; with CI=true it fails)`;
  }
}

async function connectAdmin(): Promise<{ client: pg.Client; url: string }> {
  const failures: string[] = [];
  for (const url of ADMIN_URLS) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    try {
      await client.connect();
      return { client, url };
    } catch (error) {
      failures.push(`${redact(url)}: ${(error as Error).message || String(error)}`);
      await client.end().catch(() => undefined);
    }
  }
  throw new Error(
    `PostgreSQL is not reachable (${failures.join("; ")}). Start it with .ci/start-services.sh ` +
      "or set BATON_TEST_PG_URL to a server whose role may CREATE DATABASE.",
  );
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    // A pool a failed test never closed would make DROP DATABASE fail with "being accessed by other users".
    await client.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [name],
    );
    await client.query(`drop database if exists ${name}`);
  } finally {
    await client.end();
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@]*@/, "//$1:***@");
}
