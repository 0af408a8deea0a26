import { useEffect, useState } from "preact/hooks";
import type { QueuedMessageList } from "../../src/api/queued-message-schema.ts";
import type { LockList } from "../../src/locks/lock-schema.ts";
import { client, errorText } from "./api.ts";
import { ErrorLine } from "./error-line.tsx";
import type { FleetStore } from "./fleet.ts";
import { age } from "./format.ts";
import { sessionHref } from "./routes.ts";

/** Events after which what the session holds or has queued may have changed. */
const LOCK_TOPICS = /^(lock\.|session\.lock_waiting$|session\.(completed|failed|killed|interrupted)$)/;
const MESSAGE_TOPICS = /^session\.(message_queued|message_delivered|completed|failed|killed|resumed)$/;

/**
 * What a session holds and what waits for it: the workspace locks it holds (and any lock it waits for), and
 * the messages accepted for it but not yet delivered. Both are read from the API and re-read when one of the
 * session's events says they changed (no polling).
 */
export function SessionHoldings(props: { sessionId: string; fleet: FleetStore }) {
  const { sessionId, fleet } = props;
  const [locks, setLocks] = useState<LockList | undefined>(undefined);
  const [queued, setQueued] = useState<QueuedMessageList | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    const fail = (failure: unknown) => setError(errorText(failure));
    const loadLocks = () => client.locks({ session: sessionId }).then(setLocks, fail);
    const loadQueued = () =>
      client
        .request<QueuedMessageList>("GET", `/sessions/${encodeURIComponent(sessionId)}/messages`)
        .then(setQueued, fail);
    void loadLocks();
    void loadQueued();
    return fleet.onEvent((event) => {
      if (event.sessionId !== sessionId) return;
      if (LOCK_TOPICS.test(event.topic)) void loadLocks();
      if (MESSAGE_TOPICS.test(event.topic)) void loadQueued();
    });
  }, [sessionId]);

  const held = locks?.locks.filter((lock) => lock.sessionId === sessionId) ?? [];
  const waits = locks?.waiters.filter((waiter) => waiter.sessionId === sessionId) ?? [];
  return (
    <>
      <section aria-label="Locks">
        <h2>Locks</h2>
        {!locks ? (
          <p class="muted">Loading…</p>
        ) : held.length === 0 && waits.length === 0 ? (
          <p class="muted">Holds no lock.</p>
        ) : (
          <ul class="plain">
            {held.map((lock) => (
              <li key={lock.resource} data-lock={lock.resource}>
                holds <code>{lock.resource}</code> ({lock.kind}, {age(lock.acquiredAt)})
                {lock.reason && <span class="muted"> · {lock.reason}</span>}
              </li>
            ))}
            {waits.map((waiter) => (
              <li key={`wait-${waiter.resource}`} data-lock-wait={waiter.resource}>
                waits for <code>{waiter.resource}</code>, held by{" "}
                <a href={sessionHref(waiter.holder)}>{waiter.holderName ?? waiter.holder}</a> (
                {age(waiter.since)})
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-label="Queued messages">
        <h2>Queued messages</h2>
        {!queued ? (
          <p class="muted">Loading…</p>
        ) : queued.messages.length === 0 ? (
          <p class="muted">No message waits for delivery.</p>
        ) : (
          <ol class="plain">
            {queued.messages.map((message) => (
              <li key={message.messageId} data-message={message.messageId}>
                <span class="text">{message.text}</span>{" "}
                <span class="muted">
                  ({message.mode}
                  {message.from ? `, from ${message.from}` : ""}, {age(message.acceptedAt)} ago)
                </span>
              </li>
            ))}
          </ol>
        )}
      </section>
      <ErrorLine message={error} />
    </>
  );
}
