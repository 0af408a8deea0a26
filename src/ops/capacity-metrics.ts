import { Gauge, type Registry } from "prom-client";
import { readProcessUsage } from "../runner/proc-memory.ts";

export interface CapacitySources {
  /** Parked spare processes ready to be claimed (the warm pool). */
  warmSpares(): number;
  /** Pids of the live agent processes. */
  livePids(): number[];
}

/**
 * The warm pool and what the live agent processes use. No per-session label (a series per session would
 * grow without bound on a busy server): one session's figures are on `GET /sessions/:id` (`rssBytes`,
 * `cpuSeconds`); here are the total CPU and the largest process, the one to look at first.
 */
export function registerCapacityMetrics(registers: Registry[], sources: CapacitySources): void {
  new Gauge({
    name: "baton_warm_spares",
    help: "Parked spare agent processes ready for a new session (the warm pool).",
    registers,
    collect() {
      this.set(sources.warmSpares());
    },
  });
  new Gauge({
    name: "baton_agent_cpu_seconds",
    help: "CPU time used so far by the live agent processes and their tools, in seconds (summed).",
    registers,
    collect() {
      let total = 0;
      for (const pid of sources.livePids()) total += readProcessUsage(pid)?.cpuSeconds ?? 0;
      this.set(total);
    },
  });
  new Gauge({
    name: "baton_agent_max_rss_bytes",
    help: "Resident memory of the largest live agent process (with its tools), in bytes.",
    registers,
    collect() {
      let largest = 0;
      for (const pid of sources.livePids()) largest = Math.max(largest, readProcessUsage(pid)?.rssBytes ?? 0);
      this.set(largest);
    },
  });
}
