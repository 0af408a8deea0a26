import type { Session, WaitingOn } from "../../src/sessions/session-schema.ts";

export function usd(value: number): string {
  return `$${value.toFixed(value >= 1 ? 2 : 4)}`;
}

/** "5 s", "3 min", "2 h", "4 d": how long ago an ISO time was. */
export function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}

export function sessionLabel(session: Pick<Session, "id" | "name">): string {
  return session.name ?? session.id;
}

/** A one-line view of a tool's input: the command, the path, or the JSON. */
export function brief(input: unknown, max = 120): string {
  const record = typeof input === "object" && input !== null ? (input as Record<string, unknown>) : {};
  const chosen = record.command ?? record.file_path ?? record.path ?? record.pattern ?? record.url;
  const text = typeof chosen === "string" ? chosen : JSON.stringify(input);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function pretty(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

/** Why a session needs a person, if it does: the fleet's "needs you" marker. */
export function needsYou(session: Session, pendingCount: number): string | undefined {
  if (pendingCount > 0) return "approve";
  if (session.status === "waiting") return "waiting";
  if (session.status === "failed") return "failed";
  return undefined;
}

const WAIT_TEXT: Record<WaitingOn["kind"], string> = {
  permission: "a permission answer",
  lock: "a workspace lock",
  slot: "a free slot",
  usage_limit: "the usage limit to reset",
  auth: "the model login",
  memory: "free memory",
};

/** Why a queued or waiting session is not working, for a person: "waits for a workspace lock: /repo/a.ts". */
export function waitText(wait: WaitingOn): string {
  const detail = wait.path ?? (wait.resumeAt && `until ${new Date(wait.resumeAt).toLocaleTimeString()}`);
  return `waits for ${WAIT_TEXT[wait.kind]}${detail ? `: ${detail}` : ""}`;
}
