import v8 from "node:v8";
import { mkdtempSync, mkdirSync } from "node:fs";
import { createBaton } from "./src/app.ts";
import { loadConfig } from "./src/core/config.ts";
import { BatonClient } from "./src/client/baton-client.ts";
import type { AgentRun, AgentRunner, RunObserver, RunSpec } from "./src/sessions/runner-port.ts";
import { type ScriptedRun, ScriptedRunner } from "./test/support/scripted-runner.ts";

class Runner implements AgentRunner {
  inner = new ScriptedRunner();
  start(spec: RunSpec, observer: RunObserver): AgentRun {
    const run = this.inner.start(spec, observer) as ScriptedRun;
    return { pid: run.pid, deliver: (m) => { run.deliver(m); setImmediate(() => run.endTurn("success")); }, interrupt: () => run.interrupt(), close: (mode) => run.close(mode) };
  }
  reapStale() { return Promise.resolve(false); }
}
const root = mkdtempSync("/tmp/lean/hd-"); mkdirSync(root + "/w");
const baton = await createBaton(loadConfig({ env: {}, flags: { port: 0, home: root, logLevel: "error", token: "x".repeat(32), maxConcurrent: 100, maxPerOwner: 100, maxQueue: 2000, spawnRatePerMinute: 0, keepAliveMs: 0 } }), { runner: new Runner() });
const url = await baton.listen();
const client = new BatonClient({ url, token: "x".repeat(32) });
async function batch(n: number) {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 20) ids.push(...(await Promise.all(Array.from({ length: 20 }, () => client.spawn({ prompt: "hi", workDir: root + "/w" })))).map((s) => s.id));
  for (const id of ids) for (;;) { const s = await client.get(id); if (s.status === "completed") break; await new Promise((r) => setTimeout(r, 50)); }
  while (baton.supervisor.liveCount > 0) await new Promise((r) => setTimeout(r, 100));
}
async function census() {
  for (let i = 0; i < 4; i++) { (globalThis as any).gc(); await new Promise((r) => setImmediate(r)); }
  const heap = process.memoryUsage().heapUsed;
  const snap = JSON.parse(await new Promise<string>((res) => { let s = ""; const st = v8.getHeapSnapshot(); st.on("data", (c) => (s += c)); st.on("end", () => res(s)); }));
  const f = snap.snapshot.meta.node_fields as string[]; const types = snap.snapshot.meta.node_types[0] as string[];
  const n = f.length; const ti = f.indexOf("type"), ni = f.indexOf("name"), si = f.indexOf("self_size");
  const agg = new Map<string, [number, number]>();
  for (let i = 0; i < snap.nodes.length; i += n) { const key = types[snap.nodes[i + ti]] + ":" + String(snap.strings[snap.nodes[i + ni]]).slice(0, 60); const a = agg.get(key) ?? [0, 0]; a[0]++; a[1] += snap.nodes[i + si]; agg.set(key, a); }
  return { agg: JSON.stringify([...agg]), heap };
}
import { readFileSync } from "node:fs";
async function mem(label: string) {
  for (let i = 0; i < 4; i++) { (globalThis as any).gc(); await new Promise((r) => setImmediate(r)); }
  const m = process.memoryUsage();
  const sm = readFileSync("/proc/self/smaps", "utf8"); const agg: Record<string, number> = {}; let cur = "";
  for (const line of sm.split("\n")) { const h = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line); if (h) { cur = h[1] || "[anon]"; continue; } const r = /^Rss:\s+(\d+)/.exec(line); if (r) agg[cur] = (agg[cur] || 0) + Number(r[1]); }
  const v8s = Object.fromEntries(v8.getHeapSpaceStatistics().map((x) => [x.space_name, (x.physical_space_size / 2 ** 20).toFixed(1)]));
  console.log(label, "rss", (m.rss / 2 ** 20).toFixed(1), "heapUsed", (m.heapUsed / 2 ** 20).toFixed(1), "heapTotal", (m.heapTotal / 2 ** 20).toFixed(1), "ext", (m.external / 2 ** 20).toFixed(1), "anon", ((agg["[anon]"] ?? 0) / 1024).toFixed(1), "[heap]", ((agg["[heap]"] ?? 0) / 1024).toFixed(1), JSON.stringify(v8s));
}
await mem("start");
let t = performance.now();
await batch(1000);
const t1 = performance.now() - t;
await mem("after 1000");
t = performance.now();
await batch(1000);
console.log("batch ms", t1.toFixed(0), (performance.now() - t).toFixed(0));
await mem("after 2000");
await baton.stop();
