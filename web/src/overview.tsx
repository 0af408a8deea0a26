import { useEffect, useState } from "preact/hooks";
import { BatonApiError } from "../../src/client/baton-client.ts";
import type { LockList } from "../../src/locks/lock-schema.ts";
import type { UsageReport } from "../../src/ops/usage-schema.ts";
import type { Session } from "../../src/sessions/session-schema.ts";
import { client, errorText } from "./api.ts";
import { ErrorLine } from "./error-line.tsx";
import type { FleetStore } from "./fleet.ts";
import { age, sessionLabel, usd, waitText } from "./format.ts";
import { sessionHref } from "./routes.ts";
import { TableHead } from "./table-head.tsx";

type Spend = Pick<UsageReport["rows"][number], "key" | "costUsd" | "sessions" | "turns"> &
  Partial<Pick<UsageReport["rows"][number], "inputTokens" | "outputTokens">>;
type SpendByGroup = { owner: Spend[]; day: Spend[]; source: "usage" | "sessions" };

/**
 * A usage roll-up takes up to a second or two at a million turn records (docs/operations.md), so it is read
 * when the page opens and then at most this often after turns end, never two reads at once.
 */
const USAGE_REFRESH_MS = 15_000;
const DAYS_SHOWN = 30;

/**
 * Who waits (for a slot, a lock, a person…) and why, who holds which workspace lock (and who waits for it),
 * and what the fleet cost per owner and per day: from `GET /usage` (per-turn records, tokens included) for
 * a login that may read it (admins and viewers), else summed from the sessions this login may see. Locks
 * are re-read on lock events, usage after turn ends.
 */
export function Overview(props: { fleet: FleetStore }) {
  const { fleet } = props;
  const [locks, setLocks] = useState<LockList | undefined>(undefined);
  const [usage, setUsage] = useState<SpendByGroup | "fallback" | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    const fail = (failure: unknown) => setError(errorText(failure));
    const loadLocks = () => client.locks().then(setLocks, fail);
    let reading = false;
    const loadUsage = async () => {
      if (reading) return;
      reading = true;
      const from = new Date(Date.now() - DAYS_SHOWN * 86_400_000).toISOString().slice(0, 10);
      try {
        const [owner, day] = await Promise.all([
          client.usage({ groupBy: "owner" }),
          client.usage({ groupBy: "day", from }),
        ]);
        setUsage({
          owner: owner.rows,
          day: day.rows.sort((a, b) => b.key.localeCompare(a.key)),
          source: "usage",
        });
      } catch (failure) {
        if (failure instanceof BatonApiError && failure.status === 403) setUsage("fallback");
        else fail(failure);
      } finally {
        reading = false;
      }
    };
    void loadLocks();
    void loadUsage();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = fleet.onEvent((event) => {
      if (event.topic.startsWith("lock.") || event.topic === "session.lock_waiting") void loadLocks();
      if ((event.topic === "session.completed" || event.topic === "session.failed") && timer === undefined) {
        timer = setTimeout(() => {
          timer = undefined;
          void loadUsage();
        }, USAGE_REFRESH_MS);
      }
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [fleet]);

  const sessions = [...fleet.sessions.values()];
  const waiting = sessions
    .filter((session) => session.status === "queued" || session.status === "waiting")
    .sort(
      (a, b) =>
        (a.queuePosition ?? Number.MAX_SAFE_INTEGER) - (b.queuePosition ?? Number.MAX_SAFE_INTEGER) ||
        a.createdAt.localeCompare(b.createdAt),
    );
  const label = (id: string) => {
    const session = fleet.sessions.get(id);
    return session ? sessionLabel(session) : id;
  };
  const spendOf = (): SpendByGroup | undefined => {
    if (usage === undefined) return undefined;
    if (usage !== "fallback") return usage;
    return {
      owner: spend(sessions, (session) => session.owner),
      day: spend(sessions, (session) => session.createdAt.slice(0, 10)),
      source: "sessions",
    };
  };
  const spent = spendOf();
  return (
    <main>
      <h1>Queue, locks and spend</h1>
      <ErrorLine message={error} />
      <h2>Waiting</h2>
      {waiting.length === 0 ? (
        <p class="muted">No session waits for a slot.</p>
      ) : (
        <ol class="plain" aria-label="Waiting sessions">
          {waiting.map((session) => (
            <li key={session.id} data-waiting={session.id}>
              {session.queuePosition !== undefined && `#${session.queuePosition} `}
              <a href={sessionHref(session.id)}>{sessionLabel(session)}</a> ({session.owner}, {session.status}{" "}
              {age(session.waitingOn?.since ?? session.updatedAt)})
              {session.waitingOn && <span class="muted"> · {waitText(session.waitingOn)}</span>}
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
            <li key={`${lock.resource}-${lock.sessionId}`} data-lock={lock.resource}>
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
      {!spent ? (
        <p class="muted">Loading spend…</p>
      ) : (
        <>
          <p class="muted" data-testid="spend-source">
            {spent.source === "usage"
              ? `Spend from Baton's usage records (finished turns; the last ${DAYS_SHOWN} days, in UTC).`
              : "Spend summed from the sessions you may see (days in UTC)."}
          </p>
          <SpendTable title="Spend per owner" rows={spent.owner} />
          <SpendTable title="Spend per day" rows={spent.day} />
        </>
      )}
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
  const tokens = (value: number | undefined) => (value === undefined ? "–" : value.toLocaleString());
  return (
    <section aria-label={props.title}>
      <h2>{props.title}</h2>
      <div class="table-wrap">
        <table class="fleet">
          <TableHead
            columns={[
              props.title.endsWith("owner") ? "Owner" : "Day",
              "Sessions",
              "Turns",
              "Tokens in / out",
              "Cost",
            ]}
            numeric={["Sessions", "Turns", "Tokens in / out", "Cost"]}
          />
          <tbody>
            {props.rows.map((row) => (
              <tr key={row.key} data-spend={row.key}>
                <td>{row.key}</td>
                <td class="num">{row.sessions}</td>
                <td class="num">{row.turns}</td>
                <td class="num">
                  {tokens(row.inputTokens)} / {tokens(row.outputTokens)}
                </td>
                <td class="num">{usd(row.costUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
