import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { isConnectionLost } from "../../src/store/connection-errors.ts";
import { createTestDatabase, postgresSkipReason } from "../support/postgres.ts";

const skip = await postgresSkipReason();

test("a refused connection and a server that ends the session are connection losses; a refused statement is not", {
  skip,
}, async (t) => {
  // Nothing listens on port 1: the driver's own error for a database out of reach.
  const refused = await new pg.Client({ connectionString: "postgres://nobody@127.0.0.1:1/none" })
    .connect()
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  assert.equal(isConnectionLost(refused), true, String(refused));

  const database = await createTestDatabase();
  t.after(() => database.drop());
  const client = new pg.Client({ connectionString: database.url });
  client.on("error", () => undefined);
  await client.connect();
  const missingTable = await client.query("select * from no_such_table").catch((error: unknown) => error);
  assert.equal(isConnectionLost(missingTable), false, String(missingTable));

  // The server ends this backend (what a restart does to every connection): 57P01 on the next statement.
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
  await admin.query("select pg_terminate_backend($1)", [rows[0]?.pid]);
  await admin.end();
  const ended = await client.query("select 1").catch((error: unknown) => error);
  assert.equal(isConnectionLost(ended), true, String(ended));
  await client.end().catch(() => undefined);
});
