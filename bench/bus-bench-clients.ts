// The moving parts of the event-bus benchmark: Baton as a child process (so its RSS is its own), the
// publisher, and lean WebSocket / SSE subscribers that time each event from publish to receipt.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { TEST_TOKEN } from "../test/support/auth.ts";
import { freePort } from "./lifecycle-processes.ts";

const CHILD = fileURLToPath(new URL("./bus-baton-child.ts", import.meta.url));

/**
 * How the child makes commits durable: "async" is what Baton ships (SQLite NORMAL plus an fdatasync of the
 * WAL off the event loop, see src/store/wal-sync.ts); "blocking" adds SQLite's FULL, whose fsync inside
 * each commit stalls the event loop (Baton 0.1.0 did that), to show what moving it bought.
 */
export type Durability = "async" | "blocking";

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
  /** The JavaScript heap still in use after a full GC, in MiB: what RSS growth actually retained. */
  liveHeapMiB(): Promise<number>;
  stop(): Promise<void>;
}

export async function startBatonProcess(home: string, durability: Durability): Promise<BatonProcess> {
  const port = await freePort();
  // --expose-gc and an IPC channel let the benchmark ask for the live heap after a full GC (liveHeapMiB).
  const child: ChildProcess = spawn(
    process.execPath,
    ["--expose-gc", CHILD, home, String(port), durability],
    {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    },
  );
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
    liveHeapMiB: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("Baton did not report its heap within 5 s")), 5000);
        child.once("message", (message: { liveHeapBytes: number }) => {
          clearTimeout(timer);
          resolve(message.liveHeapBytes / 1024 / 1024);
        });
        child.send("live-heap");
      }),
    async stop() {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * One subscriber's record: which seqs it saw, and two latencies per event: from publish (the stamp the
 * publisher put in `data.sentAt`) and from Baton's insert (the event's `ts`, ms precision), which leaves out
 * the HTTP request and so isolates the commit and the fan-out. Preallocated typed arrays and a seen-bitmap:
 * a hundred subscribers record 100,000 events a second in this one process, and the garbage a Set and
 * growing arrays made showed up as GC pauses in the very latencies being measured.
 */
export class Receipts {
  private readonly seen: Uint8Array;
  private readonly latencyBuffer: Float64Array;
  private readonly fromInsertBuffer: Float64Array;
  private recorded = 0;
  /** How many distinct seqs arrived, and the highest. */
  count = 0;
  lastSeq = 0;

  constructor(capacity: number) {
    this.seen = new Uint8Array(capacity + 1);
    this.latencyBuffer = new Float64Array(capacity);
    this.fromInsertBuffer = new Float64Array(capacity);
  }

  get latencies(): Float64Array {
    return this.latencyBuffer.subarray(0, this.recorded);
  }

  get fromInsert(): Float64Array {
    return this.fromInsertBuffer.subarray(0, this.recorded);
  }

  /**
   * Reads the three fields it needs straight from the event's JSON text (Baton writes `"seq":`, `"ts":"`
   * and the publisher's `"sentAt":` once each) instead of JSON.parse building an object graph per event.
   */
  record(text: string): void {
    const received = now();
    const seq = numberAfter(text, '"seq":');
    if (!(seq > 0) || seq >= this.seen.length || this.seen[seq] === 1) return;
    this.seen[seq] = 1;
    this.count += 1;
    this.lastSeq = Math.max(this.lastSeq, seq);
    const sentAt = numberAfter(text, '"sentAt":');
    if (Number.isNaN(sentAt)) return;
    const tsStart = text.indexOf('"ts":"') + 6;
    this.latencyBuffer[this.recorded] = received - sentAt;
    this.fromInsertBuffer[this.recorded] = received - Date.parse(text.slice(tsStart, tsStart + 24));
    this.recorded += 1;
  }

  /** Forgets the latencies so far (after the warm-up); the seqs seen stay counted. */
  reset(): void {
    this.recorded = 0;
  }
}

/** The JSON number that follows `key` in `text`, or NaN. */
function numberAfter(text: string, key: string): number {
  const start = text.indexOf(key);
  if (start < 0) return Number.NaN;
  let end = start + key.length;
  while (end < text.length && "0123456789.-eE+".includes(text.charAt(end))) end += 1;
  return Number(text.slice(start + key.length, end));
}

export interface Subscriber {
  receipts: Receipts;
  close(): void;
}

/** A WebSocket subscriber on `bench.*`, live from now; resolves once Baton confirmed the subscription. */
export function subscribeWs(url: string, capacity: number): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const receipts = new Receipts(capacity);
    const socket = new WebSocket(`${url.replace(/^http/, "ws")}/ws`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
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
export function subscribeSse(url: string, capacity: number): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const receipts = new Receipts(capacity);
    const req = request(
      `${url}/events?topics=bench.*`,
      { headers: { accept: "text/event-stream", authorization: `Bearer ${TEST_TOKEN}` } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`SSE answered ${res.statusCode}`));
        res.setEncoding("utf8");
        // Only `data:` lines matter here (Baton writes one per message, after its `id:` line), and a data
        // line is complete once its newline arrived.
        let pending = "";
        res.on("data", (chunk: string) => {
          pending = pending.length === 0 ? chunk : pending + chunk;
          let start = pending.indexOf("\ndata: ");
          let end = start < 0 ? -1 : pending.indexOf("\n", start + 1);
          let consumed = 0;
          while (end >= 0) {
            receipts.record(pending.slice(start + 7, end));
            consumed = end + 1;
            start = pending.indexOf("\ndata: ", end);
            end = start < 0 ? -1 : pending.indexOf("\n", start + 1);
          }
          pending = pending.slice(start < 0 ? Math.max(consumed, pending.length - 6) : start);
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
 * its send time, paced against the clock (catching up after a slow tick). Requests are pipelined over a few
 * keep-alive sockets by hand: Node's HTTP client costs ~0.4 ms of CPU per request here, which on a small
 * machine would take the CPU the benchmark is meant to give Baton.
 */
export async function publishAtRate(url: string, count: number, ratePerSecond: number): Promise<number> {
  const { hostname, port } = new URL(url);
  const sockets = await Promise.all(Array.from({ length: 16 }, () => openPipeline(hostname, Number(port))));
  const started = now();
  let sent = 0;
  const answered = () => sockets.reduce((total, socket) => total + socket.answered, 0);
  while (sent < count) {
    // A Baton that died or hung up mid-run would otherwise leave this loop waiting for answers forever.
    if (sockets.some((socket) => socket.closed)) throw new Error("Baton closed a publishing connection");
    const due = Math.min(count, Math.floor(((now() - started) * ratePerSecond) / 1000) + 1);
    while (sent < due && sent - answered() < 256) {
      const body = JSON.stringify({ topic: "bench.tick", data: { index: sent, sentAt: now() } });
      sockets[sent % sockets.length]?.post("/events", body);
      sent += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const deadline = Date.now() + 30_000;
  while (answered() < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  const elapsed = now() - started;
  for (const socket of sockets) socket.close();
  const failed = count - sockets.reduce((total, socket) => total + socket.created, 0);
  if (failed > 0) throw new Error(`${failed} of ${count} publishes failed or got no 201`);
  return (count * 1000) / elapsed;
}

interface Pipeline {
  answered: number;
  created: number;
  closed: boolean;
  post(path: string, body: string): void;
  close(): void;
}

/** One keep-alive connection that sends requests back to back and counts the answers (201s apart). */
function openPipeline(host: string, port: number): Promise<Pipeline> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    socket.setEncoding("latin1");
    const pipeline: Pipeline = {
      answered: 0,
      created: 0,
      closed: false,
      post(path, body) {
        socket.write(
          `POST ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\nauthorization: Bearer ${TEST_TOKEN}\r\n` +
            "content-type: application/json\r\n" +
            `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      },
      close: () => socket.destroy(),
    };
    let pending = "";
    socket.on("data", (chunk: string) => {
      pending += chunk;
      for (;;) {
        const headEnd = pending.indexOf("\r\n\r\n");
        if (headEnd < 0) return;
        const head = pending.slice(0, headEnd);
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < headEnd + 4 + length) return;
        pending = pending.slice(headEnd + 4 + length);
        pipeline.answered += 1;
        if (head.startsWith("HTTP/1.1 201")) pipeline.created += 1;
      }
    });
    // Before connecting an error fails the run; after, missing answers do (publishAtRate counts them).
    socket.on("error", reject);
    socket.once("close", () => {
      pipeline.closed = true;
    });
    socket.once("connect", () => resolve(pipeline));
  });
}
