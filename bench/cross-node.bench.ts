// Issue 16: commands that reach a session through another node of the cluster, vs through the node that
// runs it. Two real `baton serve` nodes on one fresh PostgreSQL database and the scripted model; a session
// runs on node A. Rounds are paired and interleaved (the order of the two paths alternates each round).
// Measured, on this machine's one clock:
// - follow-up to the session's warm process: from the send request to `session.message_delivered` (written
//   by A when the message entered its process) and to the end of that turn;
// - kill mid-tool: from the kill request until A's `claude` process and its tool are gone.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { BatonClient } from "../src/client/baton-client.ts";
import type { BatonEvent } from "../src/events/catalogue.ts";
import { startMockModel } from "../src/mock-model/index.ts";
import { isAlive, listDescendants } from "../src/runner/process-tree.ts";
import { type BatonProcess, startBatonProcess, stopBatonProcess } from "../test/support/baton-process.ts";
import { testSettings } from "../test/support/harness.ts";
import { createTestDatabase, postgresSkipReason } from "../test/support/postgres.ts";
import { slowCommand } from "../test/support/slow-sessions.ts";
import { isTopic, isTurnEnd, waitForEvent } from "../test/support/wait-for-event.ts";
import { waitUntil } from "../test/support/wait-until.ts";
import { summarize } from "./stats.ts";
import type { BenchTable } from "./table.ts";

type Path = "via A (runs it)" | "via B (other node)";

export async function runCrossNodeBenchmark(options: { rounds?: number } = {}): Promise<BenchTable> {
  const title =
    "Cross-node commands (two nodes, one PostgreSQL): via the node that runs the session vs via another";
  const skip = await postgresSkipReason();
  if (skip) return { title, rows: [], notes: [`skipped: ${skip}`] };
  const rounds = options.rounds ?? 12;
  const root = mkdtempSync(join(tmpdir(), "baton-xnode-bench-"));
  const database = await createTestDatabase();
  const mock = await startMockModel();
  const nodes: BatonProcess[] = [];
  try {
    const cluster = { db: database.url, nodeHeartbeatMs: 1000, nodeLeaseMs: 5000 };
    const start = async (name: string) => {
      const settings = testSettings(root, mock.url, { ...cluster, home: join(root, `home-${name}`) });
      const node = await startBatonProcess({ ...settings, nodeId: name });
      nodes.push(node);
      return node;
    };
    const a = await start("node-a");
    const b = await start("node-b");
    const clients = {
      "via A (runs it)": new BatonClient({ url: a.url, token: a.token }),
      "via B (other node)": new BatonClient({ url: b.url, token: b.token }),
    } satisfies Record<Path, BatonClient>;
    const paths = Object.keys(clients) as Path[];
    const samples = new Map<string, number[]>();
    const add = (metric: string, path: Path, ms: number) =>
      samples.set(`${metric}|${path}`, [...(samples.get(`${metric}|${path}`) ?? []), ms]);

    const workDir = mkdtempSync(join(root, "w-"));
    const warm = await clients["via A (runs it)"].spawn({ prompt: "@say ready", workDir });
    let cursor = (await waitForEvent({ url: a.url, session: warm.id }, isTurnEnd(warm.id))).seq;
    for (let round = 0; round < rounds; round += 1) {
      for (const path of round % 2 === 0 ? paths : [...paths].reverse()) {
        const sentAt = Date.now();
        const receipt = await clients[path].send(warm.id, { text: `@say round ${round}` });
        const end = await waitForEvent(
          { url: a.url, session: warm.id, after: cursor },
          (event) => isTurnEnd(warm.id)(event) && event.seq > cursor,
        );
        const log = await clients[path].sessionEvents(warm.id, { after: cursor });
        const delivered = log.events.find(
          (event: BatonEvent) =>
            event.topic === "session.message_delivered" && event.data.messageId === receipt.messageId,
        );
        if (!delivered) throw new Error(`round ${round} ${path}: no delivery of ${receipt.messageId}`);
        add("follow-up: send -> delivered", path, Date.parse(delivered.ts) - sentAt);
        add("follow-up: send -> turn end", path, Date.parse(end.ts) - sentAt);
        cursor = end.seq;
      }
    }
    for (let round = 0; round < Math.ceil(rounds / 2); round += 1) {
      for (const path of round % 2 === 0 ? paths : [...paths].reverse()) {
        const session = await clients["via A (runs it)"].spawn({
          prompt: `@bash ${slowCommand(30)}\n@say never`,
          workDir: mkdtempSync(join(root, "w-")),
          allowedTools: ["Bash"],
        });
        await waitForEvent({ url: a.url, session: session.id }, isTopic("session.tool_use", session.id));
        const pid = (await clients[path].get(session.id)).pid as number;
        const tree = [pid, ...listDescendants(pid)];
        const killAt = Date.now();
        await clients[path].kill(session.id);
        for (const gone of tree) await waitUntil(() => !isAlive(gone), 15_000, `process ${gone} gone`);
        add("kill mid-tool -> process tree gone", path, Date.now() - killAt);
      }
    }
    const rows: BenchTable["rows"] = [];
    for (const metric of [...new Set([...samples.keys()].map((key) => key.split("|")[0] ?? ""))]) {
      const owner = summarize(samples.get(`${metric}|${paths[0]}`) ?? []);
      for (const path of paths) {
        const stats = summarize(samples.get(`${metric}|${path}`) ?? []);
        rows.push({
          measure: metric,
          path,
          n: stats.n,
          "median ms": Math.round(stats.median),
          "p95 ms": Math.round(stats.p95),
          "min ms": Math.round(stats.min),
          "max ms": Math.round(stats.max),
          "median / via A": (stats.median / owner.median).toFixed(2),
        });
      }
    }
    return {
      title,
      rows,
      notes: [
        `${rounds} follow-up rounds and ${Math.ceil(rounds / 2)} kill rounds per path, paired and interleaved`,
        "via B: B commits the message (or the killed status), then one NOTIFY tells A, which acts on the rows",
        `heartbeat ${cluster.nodeHeartbeatMs} ms (the catch-up for a lost notice); load average ${loadavg()
          .map((value) => value.toFixed(1))
          .join(" ")}`,
      ],
    };
  } finally {
    for (const node of nodes) await stopBatonProcess(node);
    await mock.stop();
    await database.drop();
    rmSync(root, { recursive: true, force: true });
  }
}
