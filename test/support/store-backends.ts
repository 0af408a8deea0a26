import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { type Dialect, openStore, type Store } from "../../src/store/open-store.ts";
import { createTestDatabase, postgresSkipReason, type TestDatabase } from "./postgres.ts";

/** The backends a store suite runs on: one loop, each test on a fresh, empty database dropped afterwards. */
export interface Backend {
  name: Dialect;
  create(): Promise<TestDatabase>;
  /** Set only outside CI when the backend is missing: in CI a missing PostgreSQL fails instead. */
  skip: string | undefined;
}

export const BACKENDS: Backend[] = [
  { name: "sqlite", create: createSqliteFile, skip: undefined },
  { name: "postgres", create: createTestDatabase, skip: await postgresSkipReason() },
];

async function createSqliteFile(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "baton-store-"));
  return { url: join(dir, "baton.db"), drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh database for one test: `open` may be called again to reopen it, as a restarted Baton would. */
export async function useDatabase(t: TestContext, backend: Backend) {
  const database = await backend.create();
  const stores: Store[] = [];
  t.after(async () => {
    for (const store of stores) await store.close();
    await database.drop();
  });
  const open = async () => {
    const store = await openStore(database.url);
    stores.push(store);
    return store;
  };
  return { url: database.url, open };
}

export async function freshStore(t: TestContext, backend: Backend): Promise<Store> {
  const store = await (await useDatabase(t, backend)).open();
  assert.equal(store.dialect, backend.name);
  return store;
}
