// A Baton node for the cluster benchmark (bench/cluster.bench.ts), alone in a child process so the
// benchmark can kill -9 it. Its agents are scripted (test/support/scripted-runner.ts): a message containing
// "@hold" keeps its turn open (a session to adopt), any other ends the turn on the next tick, so the numbers
// are Baton's own (leases, adoption, the slot lock, the bus), not the `claude` CLI's start-up.
// Usage: node bench/cluster-baton-child.ts <settings JSON>; prints {"url": …} on stdout once listening.
import { createBaton } from "../src/app.ts";
import { loadConfig } from "../src/core/config.ts";
import { createLogger } from "../src/core/logger.ts";
import type {
  AgentRun,
  AgentRunner,
  ProcessInfo,
  RunObserver,
  RunSpec,
} from "../src/sessions/runner-port.ts";
import { type ScriptedRun, ScriptedRunner } from "../test/support/scripted-runner.ts";

class HoldOrAnswerRunner implements AgentRunner {
  private readonly inner = new ScriptedRunner();

  start(spec: RunSpec, observer: RunObserver): AgentRun {
    const run = this.inner.start(spec, observer) as ScriptedRun;
    return {
      pid: undefined,
      deliver: (message) => {
        run.deliver(message);
        if (!message.text.includes("@hold")) setImmediate(() => run.endTurn("success"));
      },
      interrupt: () => run.interrupt(),
      close: () => run.close(),
    };
  }

  reapStale(stale: ProcessInfo): Promise<boolean> {
    return this.inner.reapStale(stale);
  }
}

const [settingsJson] = process.argv.slice(2);
if (!settingsJson) {
  process.stderr.write("usage: node bench/cluster-baton-child.ts <settings JSON>\n");
  process.exit(2);
}
const config = loadConfig({ env: {}, flags: JSON.parse(settingsJson) as Record<string, unknown> });
const baton = await createBaton(config, { runner: new HoldOrAnswerRunner(), logger: createLogger("error") });
const url = await baton.listen();
process.stdout.write(`${JSON.stringify({ url })}\n`);

const stop = () => void baton.stop().finally(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
