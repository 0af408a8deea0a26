// Baton for the event-bus benchmark, in a child process of its own so its RSS is measured alone.
// Usage: node bench/bus-baton-child.ts <home> <port> <FULL|NORMAL>. NORMAL swaps SQLite's per-commit fsync
// for WAL's checkpoint-time one, to show what the fan-out does when the disk is not the limit.
import { sql } from "kysely";
import { createBaton } from "../src/app.ts";
import { loadConfig } from "../src/core/config.ts";

const [home, port, syncMode] = process.argv.slice(2);
if (!home || !port || (syncMode !== "FULL" && syncMode !== "NORMAL")) {
  process.stderr.write("usage: bus-baton-child.ts <home> <port> <FULL|NORMAL>\n");
  process.exit(2);
}
const baton = await createBaton(loadConfig({ env: {}, flags: { home, port, logLevel: "warn" } }));
await sql.raw(`PRAGMA synchronous = ${syncMode}`).execute(baton.store.db);
await baton.listen();
process.once("SIGTERM", () => {
  void baton.stop().then(() => process.exit(0));
});
