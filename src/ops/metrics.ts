import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { EventLog } from "../events/event-log.ts";
import { treeRssBytes } from "../runner/process-tree.ts";
import { SESSION_STATUSES } from "../sessions/session-status.ts";
import type { Store } from "../store/open-store.ts";
import { countPendingDeliveries } from "../store/outbox-queries.ts";
import { countSessionsByStatus } from "../store/session-queries.ts";
import { selectToolCallCounts, selectUsageTotals, type UsageTotals } from "../store/usage-queries.ts";
import { registerCapacityMetrics } from "./capacity-metrics.ts";
import { registerDeliveryMetric } from "./delivery-metric.ts";
import { EventTimers } from "./event-timers.ts";

export interface MetricsSources {
  store: Store;
  log: EventLog;
  liveProcesses(): number;
  /** Pids of the live agent processes (their trees' resident memory is summed). */
  livePids(): number[];
  warmSpares?(): number;
}

/** What one scrape reads from the store, once, for every metric that needs it. */
interface StoreSnapshot {
  sessions: Record<string, number>;
  usage: Array<UsageTotals & { owner: string }>;
  toolCalls: Map<string, number>;
  outboxPending: number;
}

const TOKEN_KINDS = [
  ["input", "inputTokens"],
  ["output", "outputTokens"],
  ["cache_read", "cacheReadTokens"],
  ["cache_write", "cacheWriteTokens"],
] as const;

/**
 * Baton's Prometheus metrics, in a registry of their own (several Batons share a process in tests, and the
 * global registry would mix them). Counters that must survive a restart (cost, tokens, tool calls) and
 * the gauges are read from the store at scrape time, through `collect` callbacks sharing one snapshot;
 * the latency histograms are fed from the event bus. Labels stay low-cardinality: owners, statuses,
 * tools, token kinds, never session ids.
 */
export class BatonMetrics {
  readonly registry = new Registry();
  private readonly sources: MetricsSources;
  private subscribers: () => Record<string, number> = () => ({});
  private snapshot: Promise<StoreSnapshot> | undefined;
  private readonly unsubscribe: () => void;

  constructor(sources: MetricsSources) {
    this.sources = sources;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    registerCapacityMetrics(registers, {
      warmSpares: () => sources.warmSpares?.() ?? 0,
      livePids: () => sources.livePids(),
    });
    const read = () => this.readSnapshot();
    new Gauge({
      name: "baton_sessions",
      help: "Sessions in the store by status.",
      labelNames: ["status"],
      registers,
      async collect() {
        const { sessions } = await read();
        for (const status of SESSION_STATUSES) this.set({ status }, sessions[status] ?? 0);
      },
    });
    new Gauge({
      name: "baton_queue_depth",
      help: "Sessions queued for a slot.",
      registers,
      async collect() {
        this.set((await read()).sessions.queued ?? 0);
      },
    });
    new Counter({
      name: "baton_cost_usd_total",
      help: "Model spend in US dollars by session owner (the per-turn usage records, summed).",
      labelNames: ["owner"],
      registers,
      async collect() {
        this.reset();
        for (const row of (await read()).usage) this.inc({ owner: row.owner }, row.costUsd);
      },
    });
    new Counter({
      name: "baton_tokens_total",
      help: "Model tokens by session owner and kind (input, output, cache_read, cache_write).",
      labelNames: ["owner", "kind"],
      registers,
      async collect() {
        this.reset();
        for (const row of (await read()).usage)
          for (const [kind, field] of TOKEN_KINDS) this.inc({ owner: row.owner, kind }, row[field]);
      },
    });
    new Counter({
      name: "baton_tool_calls_total",
      help: "Tool calls made by agents, by tool name.",
      labelNames: ["tool"],
      registers,
      async collect() {
        this.reset();
        for (const [tool, calls] of (await read()).toolCalls) this.inc({ tool }, calls);
      },
    });
    new Gauge({
      name: "baton_outbox_pending",
      help: "Notifications and callbacks waiting in the outbox for delivery.",
      registers,
      async collect() {
        this.set((await read()).outboxPending);
      },
    });
    new Gauge({
      name: "baton_event_seq",
      help: "Sequence number of the newest event published on the bus.",
      registers,
      collect() {
        this.set(sources.log.bus.latestSeq);
      },
    });
    const subscribers = () => this.subscribers();
    new Gauge({
      name: "baton_subscribers",
      help: "Clients following the event bus, by transport (websocket, sse).",
      labelNames: ["transport"],
      registers,
      collect() {
        this.reset();
        for (const [transport, count] of Object.entries(subscribers())) this.set({ transport }, count);
      },
    });
    new Gauge({
      name: "baton_live_processes",
      help: "Agent processes Baton is running now (working or kept warm).",
      registers,
      collect() {
        this.set(sources.liveProcesses());
      },
    });
    new Gauge({
      name: "baton_agent_rss_bytes",
      help: "Resident memory of all live agent processes and the tools they started, in bytes.",
      registers,
      collect() {
        this.set(sources.livePids().reduce((sum, pid) => sum + treeRssBytes(pid), 0));
      },
    });
    registerDeliveryMetric(registers, sources.log.timing);
    const timers = new EventTimers({
      spawn: new Histogram({
        name: "baton_spawn_seconds",
        help: "Time from a spawn request (session.created) to its agent process starting (session.spawned).",
        buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
        registers,
      }),
      turn: new Histogram({
        name: "baton_turn_seconds",
        help: "Duration of agent turns, from start or resume to completed, failed or killed.",
        buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
        registers,
      }),
      permissionWait: new Histogram({
        name: "baton_permission_wait_seconds",
        help: "Time a permission request waited for an answer.",
        buckets: [1, 5, 15, 60, 300, 900, 3600],
        registers,
      }),
    });
    this.unsubscribe = sources.log.bus.subscribe((event) => timers.observe(event));
  }

  /** Where the subscriber counts come from (the HTTP server, once built). */
  countSubscribersWith(source: () => Record<string, number>): void {
    this.subscribers = source;
  }

  /** The exposition text: one store snapshot shared by every metric of this scrape. */
  async render(): Promise<{ text: string; contentType: string }> {
    this.snapshot = this.loadSnapshot();
    try {
      return { text: await this.registry.metrics(), contentType: this.registry.contentType };
    } finally {
      this.snapshot = undefined;
    }
  }

  stop(): void {
    this.unsubscribe();
  }

  private readSnapshot(): Promise<StoreSnapshot> {
    return this.snapshot ?? this.loadSnapshot();
  }

  private async loadSnapshot(): Promise<StoreSnapshot> {
    const db = this.sources.store.db;
    const [sessions, usage, toolCalls, outboxPending] = await Promise.all([
      countSessionsByStatus(db),
      selectUsageTotals(db),
      selectToolCallCounts(db),
      countPendingDeliveries(db),
    ]);
    return { sessions, usage, toolCalls, outboxPending };
  }
}
