import { BatonError } from "../core/errors.ts";
import type { KeyedSerial } from "../core/serial.ts";
import type { EventLog } from "../events/event-log.ts";
import { toEvent } from "../events/event-log.ts";
import type { Store } from "../store/open-store.ts";
import { selectRecentSessionEvents } from "../store/recent-event-queries.ts";
import {
  type SessionRow,
  selectLiveSessionByName,
  selectSessionById,
  updateSessionRow,
} from "../store/session-queries.ts";
import type { SessionSummary } from "./coordination-schema.ts";
import type { RunSupervisor } from "./run-supervisor.ts";
import type { Session } from "./session-schema.ts";
import type { SessionService } from "./session-service.ts";
import { isUnfinished } from "./session-status.ts";
import { summarizeSession } from "./session-summary.ts";

/** Enough of a session's newest events to find its running tool and last output. */
const SUMMARY_EVENTS = 200;

/**
 * The coordination commands on one session that the agent tools rely on beyond spawn/send/kill: rename,
 * clear (a fresh conversation in the same session) and a summary of what it is doing.
 */
export class CoordinationCommands {
  private readonly store: Store;
  private readonly log: EventLog;
  private readonly serial: KeyedSerial;
  private readonly supervisor: Pick<RunSupervisor, "closeAnywhere">;
  private readonly sessions: SessionService;

  constructor(deps: {
    store: Store;
    log: EventLog;
    serial: KeyedSerial;
    supervisor: Pick<RunSupervisor, "closeAnywhere">;
    sessions: SessionService;
  }) {
    this.store = deps.store;
    this.log = deps.log;
    this.serial = deps.serial;
    this.supervisor = deps.supervisor;
    this.sessions = deps.sessions;
  }

  /**
   * Renames a session in one transaction with its `session.renamed` event. Not in the session's serial
   * queue: an agent renames itself from inside a tool call, while a close in that queue could be waiting
   * for that very call to finish. `updated_at` is left alone: it marks the last status change (the queue
   * timeout and `what` measure from it).
   */
  async rename(idOrName: string, name: string): Promise<Session> {
    const { id } = await this.sessions.resolve(idOrName);
    await this.log.write(async ({ tx, emit }) => {
      const row = await selectSessionById(tx, id);
      if (!row) throw new BatonError("SESSION_NOT_FOUND", `no session with id "${id}"`);
      if (row.status === "killed") throw ended(row, "it cannot be renamed");
      if (row.name === name) return;
      const holder = await selectLiveSessionByName(tx, name);
      if (holder) {
        throw new BatonError("NAME_TAKEN", `a live session is already named "${name}" (${holder.id})`, {
          field: "name",
        });
      }
      await updateSessionRow(tx, id, { name });
      await emit("session.renamed", id, { from: row.name, to: name });
    });
    return this.sessions.get(id);
  }

  /**
   * Starts a fresh conversation in the same session: the warm process (if any) is closed, the SDK session id
   * and the last result are dropped, and the next message starts a new conversation without the old history
   * (or the spawn prompt). Name, config, cost and turn counters stay: they describe the Baton session, and
   * its limits keep counting across conversations. Refused while the session works (SESSION_BUSY).
   */
  async clear(idOrName: string, by?: string): Promise<Session> {
    const { id } = await this.sessions.resolve(idOrName);
    return this.serial.run(id, async () => {
      const row = await selectSessionById(this.store.db, id);
      if (!row) throw new BatonError("SESSION_NOT_FOUND", `no session with id "${id}"`);
      if (row.status === "killed") throw ended(row, "there is nothing to clear");
      if (isUnfinished(row.status)) {
        throw new BatonError(
          "SESSION_BUSY",
          `session ${label(row)} is ${row.status}: clear it once its turn is over (interrupt it first to stop now)`,
        );
      }
      await this.log.write(async ({ tx, emit }) => {
        await updateSessionRow(tx, id, { agent_session_id: null, agent_fingerprint: null, result: null });
        await emit("session.cleared", id, {
          ...(row.agent_session_id ? { previousAgentSessionId: row.agent_session_id } : {}),
          costUsd: Number(row.cost_usd),
          turns: Number(row.turns),
          ...(by ? { by } : {}),
        });
      });
      // After the write: a node that holds the warm process (cluster) reads the row to see it was cleared.
      await this.supervisor.closeAnywhere(id, "graceful");
      return this.sessions.get(id);
    });
  }

  async summarize(idOrName: string): Promise<SessionSummary> {
    const row = await this.sessions.resolve(idOrName);
    const rows = await selectRecentSessionEvents(this.store.db, row.id, SUMMARY_EVENTS);
    return summarizeSession(row, rows.map(toEvent), Date.now());
  }
}

function label(row: SessionRow): string {
  return row.name ? `"${row.name}" (${row.id})` : row.id;
}

function ended(row: SessionRow, consequence: string): BatonError {
  return new BatonError("SESSION_ENDED", `session ${label(row)} was killed; ${consequence}`);
}
