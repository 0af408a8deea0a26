import { readFileSync } from "node:fs";
import { listDescendants } from "./process-tree.ts";

/** Linux reports process times in clock ticks of 1/100 s on every platform Baton runs on. */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** The kernel's estimate of memory available for new work (MemAvailable), in bytes; undefined if unreadable. */
export function readMemAvailableBytes(meminfoPath: string): number | undefined {
  try {
    const match = /^MemAvailable:\s+(\d+)\s*kB/m.exec(readFileSync(meminfoPath, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface ProcessUsage {
  /** Resident memory of the process and its live descendants (its tools). */
  rssBytes: number;
  /** CPU time of the process, its reaped children and its live descendants. */
  cpuSeconds: number;
}

/** What an agent process and the tools it runs use now; undefined once it is gone. */
export function readProcessUsage(pid: number): ProcessUsage | undefined {
  const root = readStat(pid);
  if (!root) return undefined;
  let rssBytes = root.rssPages * PAGE_BYTES;
  let ticks = root.ownTicks + root.childTicks;
  for (const descendant of listDescendants(pid)) {
    const stat = readStat(descendant);
    if (!stat) continue;
    rssBytes += stat.rssPages * PAGE_BYTES;
    ticks += stat.ownTicks;
  }
  return { rssBytes, cpuSeconds: ticks / TICKS_PER_SECOND };
}

/**
 * Proportional memory of a process (its private pages plus its share of pages shared with others, e.g. the
 * `claude` binary mapped by every agent): what closing it would roughly give back. Falls back to RSS.
 */
export function readProportionalBytes(pid: number): number | undefined {
  try {
    const match = /^Pss:\s+(\d+)\s*kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // no smaps_rollup (old kernel) or the process is gone
  }
  const stat = readStat(pid);
  return stat ? stat.rssPages * PAGE_BYTES : undefined;
}

interface Stat {
  ownTicks: number;
  childTicks: number;
  rssPages: number;
}

/** /proc/<pid>/stat after the command name: utime 11, stime 12, cutime 13, cstime 14, rss 21. */
function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return undefined;
    const at = (index: number) => Number(fields[index] ?? 0);
    return { ownTicks: at(11) + at(12), childTicks: at(13) + at(14), rssPages: at(21) };
  } catch {
    return undefined;
  }
}
