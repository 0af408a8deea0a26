import type { BatonConfig } from "./core/config.ts";
import { readMemAvailableBytes, readProcessUsage, readProportionalBytes } from "./runner/proc-memory.ts";
import { SdkRunner } from "./runner/sdk-runner.ts";
import { MemoryAdmission } from "./sessions/memory-admission.ts";
import type { AgentRunner } from "./sessions/runner-port.ts";
import type { ProcessResources } from "./sessions/session-schema.ts";
import { StartThrottle } from "./sessions/start-throttle.ts";

/**
 * The capacity rules of one box (docs/capacity.md): memory-aware admission reading /proc (or the file
 * `meminfoPath` names), the start throttle, and the warm pool's permission to prewarm (only with room).
 */
export function createCapacity(config: BatonConfig, runner: AgentRunner, livePids: () => number[]) {
  const throttle = new StartThrottle(config.maxStartingProcesses);
  const memory = new MemoryAdmission({
    reserveBytes: config.memoryReserveMb * 1024 * 1024,
    throttle,
    probe: {
      availableBytes: () => readMemAvailableBytes(config.meminfoPath),
      agentBytes: () => livePids().flatMap((pid) => readProportionalBytes(pid) ?? []),
    },
  });
  if (runner instanceof SdkRunner) runner.pool.setGate(() => memory.mayPrewarm());
  return { memory, throttle };
}

/** What a live process uses now, for `GET /sessions/:id`. */
export function resourcesOf(pid: number | undefined): ProcessResources | undefined {
  return pid ? readProcessUsage(pid) : undefined;
}
