// Processes of the lifecycle benchmark: Baton children (an IPC-driven one for memory, `baton serve` on a
// fixed port for restarts), and /proc helpers to count the `claude` processes below a Baton. Every process
// is stopped through its own handle or pid; nothing is ever matched by name.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import {
  isAlive,
  isSameProcess,
  killProcessTree,
  listDescendants,
  readProcessStartTime,
} from "../src/runner/process-tree.ts";
import type { ChildMeasurement, ChildReply, ChildRequest } from "./lifecycle-baton-child.ts";

const CHILD = fileURLToPath(new URL("./lifecycle-baton-child.ts", import.meta.url));
const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
/** The installed entry: runs the build in dist/server when it is current (bin/baton.js), else the sources. */
export const BIN = fileURLToPath(new URL("../bin/baton.js", import.meta.url));
const LOG_LIMIT = 64 * 1024;

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** Baton's environment: ours without any BATON_* variable, so only the settings given apply. */
function batonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("BATON_")) delete env[key];
  return env;
}

function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

/** Keeps the last LOG_LIMIT characters of a stream, for error messages. */
function tailOf(stream: NodeJS.ReadableStream | null): () => string {
  let text = "";
  stream?.setEncoding("utf8");
  stream?.on("data", (chunk: string) => {
    text = (text + chunk).slice(-LOG_LIMIT);
  });
  return () => text;
}

/** SIGTERM by handle, SIGKILL after `graceMs`; resolves once it exited. */
async function stopChild(child: ChildProcess, exited: Promise<Exit>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Baton in bench/lifecycle-baton-child.ts: `measure` runs full GCs in the child and returns its memory.
 * `hold`/`release` only act with the scripted runner.
 */
export class ChildBaton {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  readonly logs: () => string;
  private nextId = 1;
  private readonly pending = new Map<number, (reply: Extract<ChildReply, { type: "reply" }>) => void>();

  private constructor(child: ChildProcess, url: string, exited: Promise<Exit>, logs: () => string) {
    this.child = child;
    this.url = url;
    this.exited = exited;
    this.logs = logs;
    child.on("message", (raw) => {
      const reply = raw as ChildReply;
      if (reply.type !== "reply") return;
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  static async start(
    kind: "scripted" | "sdk",
    settings: Record<string, unknown>,
    timeoutMs = 30_000,
  ): Promise<ChildBaton> {
    const child = spawn(process.execPath, ["--expose-gc", CHILD, kind, JSON.stringify(settings)], {
      env: batonEnv(),
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    const logs = tailOf(child.stderr);
    const exited = exitOf(child);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`baton child not ready in ${timeoutMs} ms`)),
          timeoutMs,
        );
        child.on("message", (raw) => {
          const message = raw as ChildReply;
          if (message.type !== "ready") return;
          clearTimeout(timer);
          resolve(message.url);
        });
        void exited.then((exit) => {
          clearTimeout(timer);
          reject(new Error(`baton child exited during start (${exit.code ?? exit.signal}):\n${logs()}`));
        });
      });
      return new ChildBaton(child, url, exited, logs);
    } catch (error) {
      await stopChild(child, exited, 5000);
      throw error;
    }
  }

  async measure(): Promise<ChildMeasurement> {
    const result = (await this.request("measure")).result;
    if (!result) throw new Error("baton child returned no measurement");
    return result;
  }

  async hold(): Promise<void> {
    await this.request("hold");
  }

  async release(): Promise<void> {
    await this.request("release");
  }

  /** Graceful stop (closes every agent), then SIGTERM/SIGKILL by handle if it does not exit in time. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ id: 0, command: "stop" } satisfies ChildRequest);
    const timer = setTimeout(() => this.child.kill("SIGTERM"), graceMs);
    const hard = setTimeout(() => this.child.kill("SIGKILL"), graceMs + 5000);
    await this.exited;
    clearTimeout(timer);
    clearTimeout(hard);
  }

  private request(command: ChildRequest["command"], timeoutMs = 30_000) {
    const id = this.nextId++;
    return new Promise<Extract<ChildReply, { type: "reply" }>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`baton child: no answer to ${command} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.error) reject(new Error(`baton child: ${command} failed: ${reply.error}`));
        else resolve(reply);
      });
      this.child.send({ id, command } satisfies ChildRequest);
    });
  }
}

/** `baton serve` as a child process on a port chosen by the caller, so a restart can reuse it. */
export interface ServeBaton {
  url: string;
  pid: number;
  child: ChildProcess;
  exited: Promise<Exit>;
  /** Resolves (performance.now()) when Baton logs "Baton listening": listen() returned, recovery done. */
  listening: Promise<number>;
  logs(): string;
}

export function startServe(
  settings: Record<string, unknown>,
  port: number,
  entry = MAIN,
  nodeArgs: string[] = [],
): ServeBaton {
  const args = [...nodeArgs, entry, "serve", "--port", String(port)];
  for (const [key, value] of Object.entries({ ...settings, port, logLevel: "info" })) {
    args.push("--set", `${key}=${typeof value === "object" ? JSON.stringify(value) : String(value)}`);
  }
  const child = spawn(process.execPath, args, { env: batonEnv(), stdio: ["ignore", "ignore", "pipe"] });
  const logs = tailOf(child.stderr);
  const exited = exitOf(child);
  const listening = new Promise<number>((resolve, reject) => {
    let seen = "";
    child.stderr?.on("data", (chunk: string) => {
      seen = (seen + chunk).slice(-LOG_LIMIT);
      if (seen.includes('"url":"http')) resolve(performance.now());
    });
    void exited.then((exit) =>
      reject(new Error(`baton exited during start (${exit.code ?? exit.signal}):\n${logs()}`)),
    );
  });
  listening.catch(() => undefined); // awaited by the caller; an early exit must not be unhandled
  return { url: `http://127.0.0.1:${port}`, pid: child.pid as number, child, exited, listening, logs };
}

export function stopServe(baton: ServeBaton, graceMs = 30_000): Promise<void> {
  return stopChild(baton.child, baton.exited, graceMs);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** The live `claude` processes below `root` (any depth, zombies excluded). */
export function claudeDescendants(root: number): number[] {
  return listDescendants(root).filter((pid) => isAlive(pid) && isClaude(pid));
}

function isClaude(pid: number): boolean {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
    return basename(argv0) === "claude";
  } catch {
    return false;
  }
}

/** A process recorded with its start time, so a later kill never hits a recycled pid. */
export interface RecordedProcess {
  pid: number;
  startTime: string | undefined;
}

export function recordTree(pids: readonly number[]): RecordedProcess[] {
  const all = new Set<number>();
  for (const pid of pids) for (const member of [pid, ...listDescendants(pid)]) all.add(member);
  return [...all].map((pid) => ({ pid, startTime: readProcessStartTime(pid) }));
}

export function stillAlive(recorded: readonly RecordedProcess[]): RecordedProcess[] {
  return recorded.filter(
    (entry) =>
      entry.startTime !== undefined && isSameProcess(entry.pid, entry.startTime) && isAlive(entry.pid),
  );
}

/** CPU ticks (user + system, USER_HZ = 100 on Linux) so far, per pid, of what of `recorded` still runs. */
export function cpuTicks(recorded: readonly RecordedProcess[]): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of stillAlive(recorded)) {
    try {
      const text = readFileSync(`/proc/${entry.pid}/stat`, "utf8");
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      ticks.set(entry.pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // gone meanwhile
    }
  }
  return ticks;
}

/** CPU seconds used between two cpuTicks() readings by the processes present in both. */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, now] of after) ticks += now - (before.get(pid) ?? now);
  return ticks / 100;
}

/** Kills whatever of `recorded` is still the very process recorded (after a SIGKILLed Baton, orphans). */
export async function reapRecorded(recorded: readonly RecordedProcess[]): Promise<number> {
  const left = stillAlive(recorded);
  for (const entry of left)
    if (isSameProcess(entry.pid, entry.startTime)) await killProcessTree(entry.pid, 500);
  return left.length;
}

/** Every process this benchmark started must be gone; stragglers are reaped by their own pid. */
export async function reapOwnChildren(): Promise<void> {
  const deadline = Date.now() + 5000;
  while (listDescendants(process.pid).some(isAlive) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const pid of listDescendants(process.pid)) if (isAlive(pid)) await killProcessTree(pid, 1000);
}
