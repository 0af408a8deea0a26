import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * Process-tree control for agent children. Each `claude` child is started in its own process group so that
 * a kill reaches the tools it started too; we additionally walk /proc for descendants, because a tool may
 * move itself into a new process group (as shells and `setsid` do) and would otherwise survive.
 */
export function spawnInOwnGroup(
  command: string,
  args: string[],
  options: { cwd?: string | undefined; env: NodeJS.ProcessEnv },
): ChildProcess {
  return spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** The kernel's start time of a process (clock ticks since boot), or undefined when it does not exist. */
export function readProcessStartTime(pid: number): string | undefined {
  const stat = readProcStat(pid);
  return stat?.[19];
}

/** True when `pid` is still the very process that was recorded (not a recycled pid). */
export function isSameProcess(pid: number, startTime: string | null | undefined): boolean {
  const current = readProcessStartTime(pid);
  if (current === undefined) return false;
  return startTime ? current === startTime : true;
}

/** Every live descendant of `root` (children, grandchildren, ...), found through /proc parent links. */
export function listDescendants(root: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of safeReaddir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const ppid = Number(readProcStat(pid)?.[1]);
    if (!Number.isFinite(ppid)) continue;
    const siblings = childrenOf.get(ppid) ?? [];
    siblings.push(pid);
    childrenOf.set(ppid, siblings);
  }
  const found: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    for (const child of childrenOf.get(pid) ?? []) {
      found.push(child);
      stack.push(child);
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  // A zombie has exited; only its parent's wait() is missing.
  return stat !== undefined && stat[0] !== "Z";
}

/**
 * SIGTERM to the group and every descendant, then SIGKILL to whatever is left after `graceMs`.
 * Resolves once nothing of the tree is alive (or after the SIGKILL round).
 */
export async function killProcessTree(pid: number, graceMs: number): Promise<void> {
  const targets = new Set([pid, ...listDescendants(pid)]);
  signalAll(pid, targets, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if ([...targets].every((target) => !isAlive(target))) return;
    await delay(25);
  }
  for (const target of listDescendants(pid)) targets.add(target);
  signalAll(pid, targets, "SIGKILL");
  const hardDeadline = Date.now() + 2000;
  while (Date.now() < hardDeadline && [...targets].some(isAlive)) await delay(25);
}

function signalAll(groupLeader: number, targets: Set<number>, signal: NodeJS.Signals): void {
  trySignal(-groupLeader, signal);
  for (const target of targets) trySignal(target, signal);
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    // ESRCH: already gone, which is the goal. Anything else (EPERM) means it is not ours to kill.
    if (
      (error as NodeJS.ErrnoException).code !== "ESRCH" &&
      (error as NodeJS.ErrnoException).code !== "EPERM"
    )
      throw error;
  }
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, ...]; starttime is index 19. */
function readProcStat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resident memory of `root` and all its descendants, in bytes (0 for processes already gone). */
export function treeRssBytes(root: number): number {
  let total = 0;
  for (const pid of [root, ...listDescendants(root)]) {
    try {
      // statm's second field: resident pages (4 KiB on the Linux platforms Baton runs on).
      total += Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1] ?? 0) * 4096;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}
