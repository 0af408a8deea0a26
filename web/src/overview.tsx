import { useEffect, useState } from "preact/hooks";
import type { LockList } from "../../src/locks/lock-schema.ts";
import type { Session } from "../../src/sessions/session-schema.ts";
import { client, errorText } from "./api.ts";
import { ErrorLine } from "./error-line.tsx";
import type { FleetStore } from "./fleet.ts";
import { age, sessionLabel, usd } from "./format.ts";
import { sessionHref } from "./routes.ts";
import { TableHead } from "./table-head.tsx";

type Spend = { key: string; costUsd: number; sessions: number; turns: number };

/**
 * Who waits for a slot, who holds which workspace lock (and who waits for it), and what the fleet cost per
 * owner and per day, summed from the sessions the login may see (until a usage API exists). Locks are
 * re-read when a lock event arrives.
 */
export function Overview(props: { fleet: FleetStore }) {
  const { fleet } = props;
  const [locks, setLocks] = useState<LockList | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    const load = () =>
      client
        .locks()
        .then(setLocks)
        .catch((failure: unknown) => setError(errorText(failure)));
    void load();
    return fleet.onEvent((event) => {
      if (event.topic.startsWith("lock.") || event.topic === "session.lock_waiting") void load();
    });
  }, [fleet]);

  const sessions = [...fleet.sessions.values()];
  const queued = sessions
    .filter((session) => session.status === "queued")
    .sort((a, b) => (a.queuePosition ?? 0) - (b.queuePosition ?? 0));
  const label = (id: string) => {
    const session = fleet.sessions.get(id);
    return session ? sessionLabel(session) : id;
  };
  return (
    <main>
      <h1>Queue, locks and spend</h1>
      <ErrorLine message={error} />
      <h2>Queue</h2>
      {queued.length === 0 ? (
        <p class="muted">No session waits for a slot.</p>
      ) : (
        <ol class="plain">
          {queued.map((session) => (
            <li key={session.id}>
              #{session.queuePosition} <a href={sessionHref(session.id)}>{sessionLabel(session)}</a> (
              {session.owner}, waiting {age(session.createdAt)})
            </li>
          ))}
        </ol>
      )}
      <h2>Locks</h2>
      {!locks ? (
        <p class="muted">Loading…</p>
      ) : locks.locks.length === 0 ? (
        <p class="muted">No locks held.</p>
      ) : (
        <ul class="plain">
          {locks.locks.map((lock) => (
            <li key={`${lock.resource}-${lock.sessionId}`}>
              <code>{lock.resource}</code> held by{" "}
              <a href={sessionHref(lock.sessionId)}>{label(lock.sessionId)}</a> ({lock.kind},{" "}
              {age(lock.acquiredAt)})
              {locks.waiters
                .filter((waiter) => waiter.resource === lock.resource)
                .map((waiter) => (
                  <span key={waiter.sessionId}>
                    {" "}
                    · <a href={sessionHref(waiter.sessionId)}>{label(waiter.sessionId)}</a> waits
                  </span>
                ))}
            </li>
          ))}
        </ul>
      )}
      <SpendTable title="Spend per owner" rows={spend(sessions, (session) => session.owner)} />
      <SpendTable title="Spend per day" rows={spend(sessions, (session) => session.createdAt.slice(0, 10))} />
    </main>
  );
}

function spend(sessions: Session[], keyOf: (session: Session) => string): Spend[] {
  const rows = new Map<string, Spend>();
  for (const session of sessions) {
    const key = keyOf(session);
    const row = rows.get(key) ?? { key, costUsd: 0, sessions: 0, turns: 0 };
    row.costUsd += session.costUsd;
    row.sessions += 1;
    row.turns += session.turns;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => b.costUsd - a.costUsd || a.key.localeCompare(b.key));
}

function SpendTable(props: { title: string; rows: Spend[] }) {
  return (
    <section aria-label={props.title}>
      <h2>{props.title}</h2>
      <div class="table-wrap">
        <table class="fleet">
          <TableHead
            columns={[props.title.endsWith("owner") ? "Owner" : "Day", "Sessions", "Turns", "Cost"]}
            numeric={["Sessions", "Turns", "Cost"]}
          />
          <tbody>
            {props.rows.map((row) => (
              <tr key={row.key} data-spend={row.key}>
                <td>{row.key}</td>
                <td class="num">{row.sessions}</td>
                <td class="num">{row.turns}</td>
                <td class="num">{usd(row.costUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
