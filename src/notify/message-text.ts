import type { BatonEvent } from "../events/catalogue.ts";
import type { Session } from "../sessions/session-schema.ts";

/**
 * The human-readable text of a notification, the same for Telegram, Slack and the bus. Plain text (no
 * Markdown) so that a result full of underscores and asterisks can never break a message's formatting.
 */
export interface SessionSummary {
  id: string;
  name: string | null;
}

/** Telegram refuses messages over 4096 characters; leave room for the header and a truncation note. */
export const MAX_BODY_CHARS = 3500;

export function sessionLabel(session: SessionSummary): string {
  return session.name ? `${session.name} (${session.id})` : session.id;
}

export function renderNotificationText(event: BatonEvent, session: SessionSummary): string {
  const label = sessionLabel(session);
  const data = event.data;
  switch (event.topic) {
    case "session.completed":
      return joinParts(
        `✅ ${label} completed${stats(data)}`,
        truncateText(String(data.result ?? ""), MAX_BODY_CHARS),
      );
    case "session.failed":
      return joinParts(
        `❌ ${label} failed (${String(data.reason ?? "error")})${stats(data)}`,
        truncateText(String(data.error ?? ""), MAX_BODY_CHARS),
      );
    case "session.idle":
      return `💤 ${label} has been idle for ${formatDuration(Number(data.idleMs ?? 0))}`;
    case "session.permission_requested":
      return joinParts(
        `🔐 ${label} asks to use ${String(data.toolName ?? "a tool")}`,
        truncateText(describeInput(data.input), 1500),
      );
    case "session.parked":
      return joinParts(
        data.kind === "auth"
          ? `🔑 ${label} is parked: the model API refused the credential; configure a new one (reload with SIGHUP)`
          : `⏸ ${label} is parked at a usage limit${data.resumeAt ? ` until ${String(data.resumeAt)}` : ""}`,
        truncateText(String(data.reason ?? ""), 1500),
      );
    default:
      return `${label}: ${event.topic}`;
  }
}

/**
 * Cuts long text near `max` characters, at a line or word break when one is close, and says how much was
 * left out, so a reader knows to look at the full result rather than trusting a silently clipped one.
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = Math.max(0, max - 60);
  let cut = text.lastIndexOf("\n", room);
  if (cut < room - 300) cut = text.lastIndexOf(" ", room);
  if (cut < room - 300) cut = room;
  return `${text.slice(0, cut).trimEnd()}\n… (${text.length - cut} more characters not shown)`;
}

function stats(data: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof data.turns === "number") parts.push(`${data.turns} turn${data.turns === 1 ? "" : "s"}`);
  if (typeof data.costUsd === "number") parts.push(`$${data.costUsd.toFixed(4)}`);
  return parts.length > 0 ? ` · ${parts.join(", ")}` : "";
}

function describeInput(input: unknown): string {
  if (input === undefined) return "";
  if (typeof input === "string") return input;
  return JSON.stringify(input, null, 1) ?? "";
}

function joinParts(head: string, body: string): string {
  return body.trim() ? `${head}\n\n${body}` : head;
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes}m` : `${Math.round(minutes / 60)}h`;
}

/** A session as a chat shows it: label, status and spend, owner, and its outcome. */
export function describeSession(session: Session): string {
  const lines = [
    sessionLabel(session),
    `status: ${session.status} · ${session.turns} turn${session.turns === 1 ? "" : "s"} · $${session.costUsd.toFixed(4)}`,
    `owner: ${session.owner}`,
  ];
  if (session.runIdentifier) lines.push(`run: ${session.runIdentifier}`);
  if (session.error) lines.push(`error: ${session.error}`);
  if (session.result) lines.push("", truncateText(session.result, 3000));
  return lines.join("\n");
}
