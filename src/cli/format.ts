import type { BatonEvent } from "../events/catalogue.ts";
import type { Session } from "../sessions/session-schema.ts";

/** Plain-text table with a header row; columns sized to their widest cell. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export function formatAge(iso: string, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

export function formatCost(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

export function sessionTable(sessions: Session[]): string {
  if (sessions.length === 0) return "no sessions";
  return renderTable(
    ["NAME", "ID", "STATUS", "OWNER", "TURNS", "COST", "AGE"],
    sessions.map((session) => [
      session.name ?? "-",
      session.id,
      session.status +
        (session.queuePosition ? ` #${session.queuePosition}` : "") +
        (session.waitingOn && session.waitingOn.kind !== "slot" ? ` (${session.waitingOn.kind})` : ""),
      session.owner,
      String(session.turns),
      formatCost(session.costUsd),
      formatAge(session.createdAt),
    ]),
  );
}

export function sessionDetail(session: Session): string {
  const config = session.config as {
    prompt?: string;
    workDir?: string;
    maxBudgetUsd?: number;
    maxTurns?: number;
  };
  const lines: Array<[string, string | null | undefined]> = [
    ["id", session.id],
    ["name", session.name],
    ["status", session.status + (session.queuePosition ? ` (queue position ${session.queuePosition})` : "")],
    ["waiting on", session.waitingOn ? describeWait(session.waitingOn) : null],
    ["owner", session.owner],
    ["workDir", config.workDir],
    ["prompt", config.prompt],
    ["parent", session.parentSessionId],
    ["turns", `${session.turns} of ${config.maxTurns ?? "?"}`],
    ["cost", `${formatCost(session.costUsd)} of ${formatCost(config.maxBudgetUsd ?? 0)}`],
    ["agent session", session.agentSessionId],
    ["created", session.createdAt],
    ["result", session.result],
    [
      "error",
      session.error ? `${session.error}${session.failureReason ? ` [${session.failureReason}]` : ""}` : null,
    ],
  ];
  return lines
    .filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([key, value]) => `${`${key}:`.padEnd(15)}${value}`)
    .join("\n");
}

/** `permission perm_… since 2026-…`, `lock /repo/a.ts since …`, `usage_limit until …`. */
function describeWait(wait: NonNullable<Session["waitingOn"]>): string {
  const what = wait.requestId ?? wait.path;
  return [wait.kind, what, `since ${wait.since}`, wait.resumeAt && `until ${wait.resumeAt}`]
    .filter(Boolean)
    .join(" ");
}

const COLOURS = {
  reset: "\u001b[0m",
  dim: "\u001b[2m",
  red: "\u001b[31m",
  green: "\u001b[32m",
  yellow: "\u001b[33m",
  cyan: "\u001b[36m",
};

/** One readable line per event, for `baton events` and `baton watch`. */
export function describeEvent(event: BatonEvent, colour: boolean): string {
  const paint = (name: keyof typeof COLOURS, text: string) =>
    colour ? `${COLOURS[name]}${text}${COLOURS.reset}` : text;
  const time = event.ts.slice(11, 19);
  const who = event.sessionId ? ` ${event.sessionId}` : "";
  const data = event.data as Record<string, unknown>;
  const text = (value: unknown, max = 200) => {
    const flat = (typeof value === "string" ? value : JSON.stringify(value)).replace(/\s+/g, " ");
    return flat.length > max ? `${flat.slice(0, max)}…` : flat;
  };
  let detail: string;
  switch (event.topic) {
    case "session.tool_use":
      detail = paint("cyan", `${data.name} ${text(data.input, 160)}`);
      break;
    case "session.tool_done":
      detail = data.isError ? paint("red", `error: ${text(data.summary)}`) : paint("dim", text(data.summary));
      break;
    case "session.output":
      detail = data.delta === true ? paint("dim", `… ${text(data.text, 300)}`) : text(data.text, 300);
      break;
    case "session.completed":
      detail = paint(
        "green",
        `${text(data.result)} (${formatCost(Number(data.costUsd))}, ${plural(Number(data.turns), "turn")})`,
      );
      break;
    case "session.failed":
      detail = paint("red", `${data.reason}: ${text(data.error)}`);
      break;
    default:
      detail = Object.keys(data).length > 0 ? paint("dim", text(data, 160)) : "";
  }
  return `${paint("dim", `#${event.seq} ${time}`)}${who} ${paint("yellow", event.topic)} ${detail}`.trimEnd();
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
