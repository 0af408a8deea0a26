// Baton for the event-bus benchmark, in a child process of its own so its RSS is measured alone.
// Usage: node bench/bus-baton-child.ts <home> <port> <async|blocking>. "async" is Baton as shipped;
// "blocking" sets SQLite's synchronous=FULL, an fsync inside every commit (see Durability).
import { sql } from "kysely";
import { createBaton } from "../src/app.ts";
import { loadConfig } from "../src/core/config.ts";
import { TEST_TOKEN } from "../test/support/auth.ts";

const [home, port, durability] = process.argv.slice(2);
if (!home || !port || (durability !== "async" && durability !== "blocking")) {
  process.stderr.write("usage: bus-baton-child.ts <home> <port> <async|blocking>\n");
  process.exit(2);
}
const baton = await createBaton(
  loadConfig({ env: {}, flags: { home, port, token: TEST_TOKEN, logLevel: "warn" } }),
);
if (durability === "blocking") await sql`PRAGMA synchronous = FULL`.execute(baton.store.db);
await baton.listen();
// The benchmark asks for the heap that survives a full GC (the child runs with --expose-gc).
process.on("message", (message) => {
  if (message !== "live-heap") return;
  (globalThis as { gc?: () => void }).gc?.();
  process.send?.({ liveHeapBytes: process.memoryUsage().heapUsed });
});
const stop = () => void baton.stop().then(() => process.exit(0));
process.once("SIGTERM", stop);
// The IPC channel closes when the run that started this process dies: do not outlive it.
process.once("disconnect", stop);
