import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { isAlive, listDescendants } from "../../src/runner/process-tree.ts";
import { placementOff } from "../support/baton-cluster.ts";
import type { BatonProcess } from "../support/baton-process.ts";
import {
  allEvents,
  clientOf,
  midToolPid,
  startTestCluster,
  TERMINAL,
  type TestCluster,
  watchForOverlap,
} from "../support/cluster.ts";
import { postgresSkipReason } from "../support/postgres.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

/**
 * A node that loses the database while its peers keep it (a network cut between one host and the
 * database) stops its own agents before its lease runs out, so the node that adopts their sessions never
 * runs one beside a stale process; when it reaches the database again, what nobody adopted is resumed by
 * the node itself. Real `baton serve` processes on one PostgreSQL database; node A reaches it through a
 * TCP relay the test can cut (every connection reset, new ones refused), the network between them.
 */
const skip = await postgresSkipReason();

interface Relay {
  url: string;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

/** A TCP relay to the database of `dbUrl`; resolves the URL that goes through it. */
async function startRelay(dbUrl: string): Promise<Relay> {
  const target = new URL(dbUrl);
  const sockets = new Set<Socket>();
  let refusing = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  };
  const server: Server = createServer((client) => {
    track(client);
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(Number(target.port || 5432), target.hostname);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = new URL(dbUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    url: url.toString(),
    cut: () => {
      refusing = true;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    heal: () => {
      refusing = false;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Node A (through the relay) running one slow session, mid-tool: its agent's process tree. */
async function slowSessionOnA(t: import("node:test").TestContext, cluster: TestCluster) {
  const relay = await startRelay(cluster.database.url);
  t.after(() => relay.close());
  const a = await cluster.start("node-a", { db: relay.url, ...placementOff(cluster.root) });
  const clientA = clientOf(a);
  const session = await clientA.spawn({
    prompt: `@bash ${slowCommand(8, "echo ok")}\n@say finished`,
    workDir: mkdtempSync(join(cluster.root, "w-")),
    allowedTools: ["Bash"],
  });
  const pid = await midToolPid(clientA, session.id);
  return { relay, a, session, tree: [pid, ...listDescendants(pid)] };
}

async function saysInLog(node: BatonProcess, pattern: RegExp, what: string): Promise<void> {
  await waitUntil(() => pattern.test(node.logs()), 20_000, what).catch((error: unknown) => {
    throw new Error(`${String(error)}\nlog:\n${node.logs().slice(-4000)}`);
  });
}

const SELF_FENCED = /could not renew its lease .* stopping its 1 agent process/;

/**
 * A stops its agent one beat before its lease ends and B adopts once it has ended: a 1 s beat keeps that
 * second between them even on a loaded machine, where the suite's usual 0.3 s beat could be eaten by a
 * late timer.
 */
const WATCHDOG_MARGIN = { nodeHeartbeatMs: 1000, nodeLeaseMs: 4000 };

test("node A cut off from the database stops its agent before B adopts the session: never two processes; A, reconnected, leaves it to B", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const cluster = await startTestCluster(t, WATCHDOG_MARGIN);
  const b = await cluster.start("node-b", placementOff(cluster.root));
  const { relay, a, session, tree } = await slowSessionOnA(t, cluster);

  // From the cut on, A's tree of the session and B's agent processes must never both be running.
  const overlap = watchForOverlap(tree, b.pid);
  t.after(overlap.stop);
  relay.cut();

  await saysInLog(a, SELF_FENCED, "A saying it stops its agent");
  const resumed = await waitForEvent(
    { url: b.url, session: session.id, timeoutMs: 60_000 },
    (event) => isTopic("session.resumed", session.id)(event) && event.data.reason === "node_lost",
  );
  for (const pid of tree) assert.equal(isAlive(pid), false, `A's process ${pid} is gone once B resumed`);
  relay.heal();

  const end = await waitForEvent(
    { url: b.url, session: session.id, timeoutMs: 120_000, after: resumed.seq },
    isTurnEnd(session.id),
  );
  overlap.stop();
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  assert.equal(end.data.result, "finished", "B took the conversation to its end");
  assert.ok(overlap.samples() > 50, `the process table was sampled (${overlap.samples()} times)`);
  assert.deepEqual(
    overlap.overlaps.slice(0, 5),
    [],
    "never a process of the session running on A and B at once",
  );
  // A, back on the database, finds the session is B's now: it resumes nothing of its own.
  await waitUntil(
    async () => (await clientOf(a).nodes()).some((node) => node.id === "node-a" && node.alive),
    30_000,
    "A renewing its lease again",
  );
  const events = (await allEvents(clientOf(b))).filter((event) => event.sessionId === session.id);
  assert.equal(events.filter((event) => event.topic === "session.resumed").length, 1, "resumed once, by B");
  assert.equal(events.filter((event) => TERMINAL.includes(event.topic)).length, 1, "one terminal event");
  assert.equal((await clientOf(b).get(session.id)).nodeId, "node-b");
});

test("a node alone that loses the database stops its agent, and resumes the session itself once it is back", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const cluster = await startTestCluster(t);
  const { relay, a, session, tree } = await slowSessionOnA(t, cluster);
  relay.cut();
  await saysInLog(a, SELF_FENCED, "A saying it stops its agent");
  for (const pid of tree) await waitUntil(() => !isAlive(pid), 20_000, `A's process ${pid} stopped`);
  relay.heal();

  await saysInLog(
    a,
    /resuming 1 session\(s\) stopped while this node could not reach the database/,
    "A resuming",
  );
  const resumed = await waitForEvent(
    { url: a.url, session: session.id, timeoutMs: 60_000 },
    isTopic("session.resumed", session.id),
  );
  assert.equal(resumed.data.reason, "node_lost");
  const end = await waitForEvent(
    { url: a.url, session: session.id, timeoutMs: 120_000, after: resumed.seq },
    isTurnEnd(session.id),
  );
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));

  assert.equal(end.data.result, "finished", "the conversation went on to its end on A");
  const shown = await clientOf(a).get(session.id);
  assert.equal(shown.nodeId, "node-a");
  assert.ok(!shown.pid || !tree.includes(shown.pid), "a new process, not the stopped one");
  // The lines the CLI flushed during the cut were written once the database was back (retried, in order),
  // so the resumed conversation still starts with the prompt.
  const resumedCall = cluster.mock.requests
    .filter((request) => request.sessionId === shown.agentSessionId)
    .at(-1);
  assert.match(
    JSON.stringify(resumedCall?.body),
    /@say finished/,
    "the resumed conversation has its first lines",
  );
});
