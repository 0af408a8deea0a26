import type { Session } from "../sessions/session-schema.ts";

const RESULT_CHARS = 160;

/** One line per session for tool answers: name, id, status, counters and the gist of its result or error. */
export function describeSessionLine(session: Session): string {
  const who = session.name ? `"${session.name}" (${session.id})` : session.id;
  const queue = session.queuePosition ? ` #${session.queuePosition} in queue` : "";
  const numbers = `${session.turns} turn${session.turns === 1 ? "" : "s"}, $${session.costUsd.toFixed(4)}`;
  const outcome =
    session.status === "failed" && session.error
      ? ` error: ${clip(session.error)}`
      : session.result
        ? ` result: ${clip(session.result)}`
        : "";
  return `${who} ${session.status}${queue}, ${numbers}${outcome}`;
}

export function describeSessionList(sessions: readonly Session[]): string {
  return sessions.map((session) => `- ${describeSessionLine(session)}`).join("\n");
}

/** Several lines about one session: what `status` answers. */
export function describeSessionStatus(session: Session): string {
  const config = session.config as { workDir?: string; maxBudgetUsd?: number; maxTurns?: number };
  const lines = [
    describeSessionLine(session),
    `owner: ${session.owner}`,
    `workDir: ${config.workDir ?? "?"}`,
    `parent: ${session.parentSessionId ?? "none"}`,
    `limits: $${config.maxBudgetUsd ?? "?"} budget, ${config.maxTurns ?? "?"} turns`,
    `updated: ${session.updatedAt}`,
  ];
  return lines.join("\n");
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > RESULT_CHARS ? `${flat.slice(0, RESULT_CHARS)}…` : flat;
}
