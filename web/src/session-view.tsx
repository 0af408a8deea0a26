import { useEffect, useState } from "preact/hooks";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import type { Session } from "../../src/sessions/session-schema.ts";
import { client, errorText } from "./api.ts";
import { ErrorLine } from "./error-line.tsx";
import { EventStream } from "./event-stream.tsx";
import type { FleetStore } from "./fleet.ts";
import { age, sessionLabel, usd, waitText } from "./format.ts";
import type { LiveFeed } from "./live.ts";
import { PermissionCard } from "./permission-card.tsx";
import { sessionHref } from "./routes.ts";
import { SessionActions } from "./session-actions.tsx";
import { SessionHoldings } from "./session-holdings.tsx";

const PAGE = 500;

/**
 * One session: its state and why it waits, children, pending permission requests, actions, locks and queued
 * messages, and its event stream. The history comes from the API in pages and the rest from the page's
 * WebSocket (plus a subscription for streamed text); all are keyed by seq, so an event seen twice is shown once.
 */
export function SessionView(props: { id: string; fleet: FleetStore; live: LiveFeed; canAct: boolean }) {
  const { fleet } = props;
  const [session, setSession] = useState<Session | undefined>(fleet.sessions.get(props.id));
  const [events, setEvents] = useState<Map<number, BatonEvent>>(new Map());
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    let live = true;
    const add = (batch: BatonEvent[]) =>
      setEvents((current) => {
        const next = new Map(current);
        for (const event of batch) next.set(event.seq, event);
        return next;
      });
    let sessionId: string | undefined;
    const early: BatonEvent[] = [];
    const off = fleet.onEvent((event) => {
      if (sessionId === undefined) early.push(event);
      else if (event.sessionId === sessionId) add([event]);
    });
    // Assistant text as it streams (when Baton stores deltas), on the page's socket, for this session only.
    const offDeltas = props.live.watch(
      { session: props.id, topics: ["session.output"], output: true, deltas: true },
      (event) => add([event]),
    );
    (async () => {
      const found = await client.get(props.id);
      sessionId = found.id;
      setSession(found);
      add(early.filter((event) => event.sessionId === found.id));
      let after = 0;
      while (live) {
        const page = await client.sessionEvents(found.id, { after, limit: PAGE, deltas: true });
        add(page.events);
        if (page.events.length < PAGE) break;
        after = page.nextAfter;
      }
    })().catch((failure: unknown) => setError(errorText(failure)));
    return () => {
      live = false;
      off();
      offDeltas();
    };
  }, [props.id]);

  const current = (session && fleet.sessions.get(session.id)) ?? session;
  if (error) {
    return (
      <main>
        <ErrorLine message={error} />
      </main>
    );
  }
  if (!current) return <main class="muted">Loading…</main>;
  const sorted = [...events.values()].sort((a, b) => a.seq - b.seq);
  const children = fleet.children(current.id);
  const pending = fleet.pendingFor(current.id);
  const parent = current.parentSessionId ? fleet.sessions.get(current.parentSessionId) : undefined;
  return (
    <main class="session">
      <h1>
        {sessionLabel(current)}{" "}
        <span class={`status status-${current.status}`} data-testid="session-status">
          {current.status}
        </span>
      </h1>
      <dl class="facts">
        <dt>Id</dt>
        <dd>
          <code>{current.id}</code>
        </dd>
        <dt>Owner</dt>
        <dd>{current.owner}</dd>
        <dt>Folder</dt>
        <dd class="path">{String(current.config.workDir ?? "")}</dd>
        <dt>Turns</dt>
        <dd data-testid="session-turns">{current.turns}</dd>
        <dt>Cost</dt>
        <dd>{usd(current.costUsd)}</dd>
        <dt>Age</dt>
        <dd>{age(current.createdAt)}</dd>
        {current.queuePosition !== undefined && (
          <>
            <dt>Queue</dt>
            <dd data-testid="queue-position">#{current.queuePosition}</dd>
          </>
        )}
        {current.waitingOn && (
          <>
            <dt>Waiting</dt>
            <dd data-testid="waiting-on" data-wait={current.waitingOn.kind}>
              {waitText(current.waitingOn)} (since {age(current.waitingOn.since)})
            </dd>
          </>
        )}
        {current.parentSessionId && (
          <>
            <dt>Parent</dt>
            <dd>
              <a href={sessionHref(current.parentSessionId)}>
                {parent ? sessionLabel(parent) : current.parentSessionId}
              </a>
            </dd>
          </>
        )}
      </dl>
      {current.error && <p class="error">{current.error}</p>}
      {children.length > 0 && (
        <section aria-label="Children">
          <h2>Children</h2>
          <ul class="children">
            {children.map((child) => (
              <li key={child.id}>
                <a href={sessionHref(child.id)}>{sessionLabel(child)}</a>{" "}
                <span class={`status status-${child.status}`}>{child.status}</span> {usd(child.costUsd)}
              </li>
            ))}
          </ul>
        </section>
      )}
      {pending.length > 0 && (
        <section aria-label="Waiting for you">
          <h2>Waiting for you</h2>
          {pending.map((request) => (
            <PermissionCard key={request.id} request={request} canAct={props.canAct} />
          ))}
        </section>
      )}
      {props.canAct && <SessionActions session={current} />}
      <SessionHoldings sessionId={current.id} fleet={fleet} />
      <section aria-label="Activity">
        <h2>Activity</h2>
        <EventStream events={sorted} />
      </section>
    </main>
  );
}
