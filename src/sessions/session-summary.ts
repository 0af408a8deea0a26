import { roundUsd } from "../core/money.ts";
import type { BatonEvent } from "../events/catalogue.ts";
import type { SessionRow } from "../store/session-queries.ts";
import type { SessionSummary } from "./coordination-schema.ts";
import { isWorking } from "./session-status.ts";

const TEXT_CHARS = 300;
const INPUT_CHARS = 200;

/**
 * What a session is doing now, from its row and its newest events (`events` newest first). Time in status
 * comes from the row's `updated_at`, which every status change writes. A tool counts as running when its
 * `tool_use` has no `tool_done` yet and the session is still working: a turn that ended (interrupt, kill)
 * leaves no tool running, whatever the events say.
 */
export function summarizeSession(
  row: SessionRow,
  events: readonly BatonEvent[],
  now: number,
): SessionSummary {
  const status = row.status;
  const working = isWorking(status);
  const secondsSince = (iso: string) => Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const summary: Omit<SessionSummary, "description"> = {
    id: row.id,
    name: row.name,
    status,
    statusSince: row.updated_at,
    secondsInStatus: secondsSince(row.updated_at),
    currentTool: null,
    pendingPermission: null,
    lastOutput: null,
    lastActivityAt: events[0]?.ts ?? null,
    costUsd: roundUsd(Number(row.cost_usd)),
    turns: Number(row.turns),
    result: row.result,
    error: row.error,
  };
  const done = new Set<unknown>();
  const resolved = new Set<unknown>();
  for (const event of events) {
    const data = event.data;
    if (event.topic === "session.tool_done") done.add(data.toolUseId);
    if (event.topic === "session.permission_resolved") resolved.add(data.requestId);
    if (event.topic === "session.output" && !summary.lastOutput && typeof data.text === "string")
      summary.lastOutput = { text: truncate(data.text, TEXT_CHARS), at: event.ts };
    if (working && event.topic === "session.tool_use" && !summary.currentTool && !done.has(data.toolUseId)) {
      summary.currentTool = {
        toolUseId: String(data.toolUseId),
        name: String(data.name),
        input: data.input,
        startedAt: event.ts,
        seconds: secondsSince(event.ts),
      };
    }
    if (
      status === "waiting" &&
      event.topic === "session.permission_requested" &&
      !summary.pendingPermission &&
      !resolved.has(data.requestId)
    ) {
      summary.pendingPermission = {
        requestId: String(data.requestId),
        toolName: String(data.toolName),
        since: event.ts,
      };
    }
  }
  return { ...summary, description: describeSummary(summary) };
}

function describeSummary(summary: Omit<SessionSummary, "description">): string {
  const who = summary.name ? `"${summary.name}" (${summary.id})` : summary.id;
  const parts = [`${who} is ${summary.status} (for ${formatSeconds(summary.secondsInStatus)}).`];
  const tool = summary.currentTool;
  if (tool) {
    parts.push(
      `Running tool ${tool.name} ${truncate(JSON.stringify(tool.input) ?? "", INPUT_CHARS)} for ${formatSeconds(tool.seconds)}.`,
    );
  }
  const permission = summary.pendingPermission;
  if (permission)
    parts.push(`Waiting for permission to use ${permission.toolName} (${permission.requestId}).`);
  if (summary.lastOutput) parts.push(`Last output: "${flatten(summary.lastOutput.text)}".`);
  if (summary.status === "completed" && summary.result !== null)
    parts.push(`Result: "${truncate(flatten(summary.result), TEXT_CHARS)}".`);
  if (summary.status === "failed" && summary.error)
    parts.push(`Error: ${truncate(summary.error, TEXT_CHARS)}.`);
  parts.push(
    `${summary.turns} turn${summary.turns === 1 ? "" : "s"}, $${summary.costUsd.toFixed(4)} so far.`,
  );
  return parts.join(" ");
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

function flatten(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
