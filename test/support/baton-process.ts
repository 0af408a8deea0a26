import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TEST_TOKEN } from "./auth.ts";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

export interface BatonProcess {
  url: string;
  /** The admin token it was started with (`settings.token`, else the test token). */
  token: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code/signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Logs (stderr) so far, for diagnosing a failing test. */
  logs(): string;
}

/** `serve --port 0 --set key=value …`: the settings passed as a user would (a `port` setting wins). */
export function serveArgs(settings: Record<string, unknown>): string[] {
  const args = ["serve", "--port", "0"];
  for (const [key, value] of Object.entries(settings)) {
    args.push("--set", `${key}=${typeof value === "object" ? JSON.stringify(value) : String(value)}`);
  }
  return args;
}

/** This process's environment without BATON_* (the test's own settings must not leak into a child). */
export function envWithoutBaton(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("BATON_")) delete env[key];
  return env;
}

/** What else the child gets: variables on top of this process's (less BATON_*; undefined unsets), node flags. */
export interface ProcessExtras {
  env?: Record<string, string | undefined>;
  nodeArgs?: string[];
}

/**
 * Starts `baton serve` as a real child process on an ephemeral port and resolves once it listens. Settings
 * are passed as --set flags, exactly as a user would.
 */
export async function startBatonProcess(
  settings: Record<string, unknown>,
  timeoutMs = 60_000,
  extras: ProcessExtras = {},
): Promise<BatonProcess> {
  const token = typeof settings.token === "string" ? settings.token : TEST_TOKEN;
  // The "listening" line (info) is how we learn the port.
  const args = [...(extras.nodeArgs ?? []), MAIN, ...serveArgs({ ...settings, token, logLevel: "info" })];
  const env = { ...envWithoutBaton(), ...extras.env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key]; // unset it
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const url = await new Promise<string>((resolve, reject) => {
    // A child that never said it listens is killed, not left behind to keep the test process alive.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`baton did not start within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      const match = /"url":"(http:\/\/[^"]+)"/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`baton exited during start (${code ?? signal}):\n${stderr}`));
    });
  });
  child.stdout?.resume();
  return { url, token, pid: child.pid as number, child, exited, logs: () => stderr };
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopBatonProcess(baton: BatonProcess, graceMs = 35_000): Promise<void> {
  if (baton.child.exitCode !== null || baton.child.signalCode !== null) return;
  baton.child.kill("SIGTERM");
  const timer = setTimeout(() => baton.child.kill("SIGKILL"), graceMs);
  await baton.exited;
  clearTimeout(timer);
}
