// The moving parts of the event-bus benchmark: Baton as a child process (so its RSS is its own), the
// publisher, and lean WebSocket / SSE subscribers that time each event from publish to receipt.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

const CHILD = fileURLToPath(new URL("./bus-baton-child.ts", import.meta.url));

/** SQLite's commit durability in the child: FULL is what Baton ships (an fsync per commit). */
export type SyncMode = "FULL" | "NORMAL";

/** Milliseconds on a clock shared by the publisher and every subscriber (they run in this one process). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export interface BatonProcess {
  url: string;
  pid: number;
  /** Resident set size in MiB, from /proc. */
  rssMiB(): number;
  /** User + system CPU seconds used so far, from /proc. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export async function startBatonProcess(home: string, syncMode: SyncMode): Promise<BatonProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [CHILD, home, String(port), syncMode], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await fetch(`${url}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error("Baton did not come up within 20 s");
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const pid = child.pid ?? 0;
  return {
    url,
    pid,
    rssMiB: () => {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return Number(match?.[1] ?? 0) / 1024;
    },
    cpuSeconds: () => {
      // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), in clock ticks of 1/100 s.
      const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop() {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** One subscriber's record: latency per received event, and which seqs it saw. */
export class Receipts {
  readonly latencies: number[] = [];
  readonly seqs = new Set<number>();
  lastSeq = 0;

  record(text: string): void {
    const event = JSON.parse(text) as { seq: number; data: { sentAt?: number } };
    if (this.seqs.has(event.seq)) return;
    this.seqs.add(event.seq);
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    if (typeof event.data.sentAt === "number") this.latencies.push(now() - event.data.sentAt);
  }
}

export interface Subscriber {
  receipts: Receipts;
  close(): void;
}

/** A WebSocket subscriber on `bench.*`, live from now; resolves once Baton confirmed the subscription. */
export function subscribeWs(url: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const receipts = new Receipts();
    const socket = new WebSocket(`${url.replace(/^http/, "ws")}/ws`);
    socket.once("error", reject);
    socket.once("open", () =>
      socket.send(JSON.stringify({ type: "subscribe", id: "b", topics: ["bench.*"] })),
    );
    socket.on("message", (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"event"')) receipts.record(text);
      else if (text.startsWith('{"type":"subscribed"'))
        resolve({ receipts, close: () => socket.terminate() });
    });
  });
}

/** An SSE subscriber on `GET /events?topics=bench.*`, live from now; resolves once the headers are in. */
export function subscribeSse(url: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const receipts = new Receipts();
    const req = request(
      `${url}/events?topics=bench.*`,
      { headers: { accept: "text/event-stream" } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`SSE answered ${res.statusCode}`));
        res.setEncoding("utf8");
        let pending = "";
        res.on("data", (chunk: string) => {
          pending += chunk;
          let end = pending.indexOf("\n\n");
          while (end >= 0) {
            const block = pending.slice(0, end);
            pending = pending.slice(end + 2);
            const data = block.split("\n").find((line) => line.startsWith("data: "));
            if (data) receipts.record(data.slice(6));
            end = pending.indexOf("\n\n");
          }
        });
        res.on("error", () => undefined); // closed by close() below
        resolve({ receipts, close: () => req.destroy() });
      },
    );
    req.on("error", (error) => {
      if (!req.destroyed) reject(error);
    });
    req.end();
  });
}

/**
 * Publishes `count` events on `bench.tick` at `ratePerSecond` through `POST /events`, each stamped with
 * its send time. Paced against the clock (catching up after a slow tick), with a cap on requests in flight.
 * Plain node:http with keep-alive: fetch costs the publisher about a millisecond of CPU per request.
 */
export async function publishAtRate(url: string, count: number, ratePerSecond: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const started = now();
  let sent = 0;
  let inFlight = 0;
  let failed = 0;
  const inFlightCap = 64;
  const one = (index: number) =>
    new Promise<void>((resolve) => {
      inFlight += 1;
      const done = (ok: boolean) => {
        if (!ok) failed += 1;
        inFlight -= 1;
        resolve();
      };
      const body = JSON.stringify({ topic: "bench.tick", data: { index, sentAt: now() } });
      const req = request(
        `${url}/events`,
        { method: "POST", agent, headers: { "content-type": "application/json" } },
        (res) => {
          res.resume();
          res.on("end", () => done(res.statusCode === 201));
        },
      );
      req.on("error", () => done(false));
      req.end(body);
    });
  const requests: Array<Promise<void>> = [];
  while (sent < count) {
    const due = Math.min(count, Math.floor(((now() - started) * ratePerSecond) / 1000) + 1);
    while (sent < due && inFlight < inFlightCap) requests.push(one(sent++));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(requests);
  agent.destroy();
  if (failed > 0) throw new Error(`${failed} of ${count} publishes failed`);
  return (count * 1000) / (now() - started);
}
