// `baton mock-model`: runs the scripted model server in the foreground until SIGINT or SIGTERM.
import { type MockModel, startMockModel } from "./server.ts";

export interface MockModelCommandOptions {
  port?: number;
  host?: string;
  /** Print each request as its JSON log line instead of a readable summary. */
  json?: boolean;
  /** Where lines go; defaults to stdout. */
  print?: (line: string) => void;
  /** Stops the server when aborted, in addition to SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

/** Resolves once the server has stopped. */
export async function runMockModelCommand(options: MockModelCommandOptions = {}): Promise<void> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const json = options.json === true;
  const mock: MockModel = await startMockModel({
    port: options.port ?? 0,
    host: options.host ?? "127.0.0.1",
    log: (line) => print(json ? line : describeLogLine(line)),
  });
  print(`mock-model listening on ${mock.url}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      options.signal?.removeEventListener("abort", stop);
      void mock.stop().then(resolve);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    if (options.signal?.aborted === true) stop();
    else options.signal?.addEventListener("abort", stop, { once: true });
  });
}

/** Turns a JSON log line into e.g. "#3 session 1f0c… step 1: tool_use Bash". */
function describeLogLine(line: string): string {
  const entry = JSON.parse(line) as Record<string, unknown>;
  const parts = [
    typeof entry.seq === "number" ? `#${entry.seq}` : String(entry.path ?? ""),
    typeof entry.sessionId === "string" ? `session ${entry.sessionId}` : undefined,
    typeof entry.step === "number" ? `step ${entry.step}` : undefined,
  ].filter((part) => part !== undefined && part !== "");
  return `${parts.join(" ")}: ${String(entry.answer ?? entry.failure ?? "")}`;
}
