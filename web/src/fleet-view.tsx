import { useEffect, useRef, useState } from "preact/hooks";
import type { Session } from "../../src/sessions/session-schema.ts";
import type { FleetStore } from "./fleet.ts";
import { age, needsYou, sessionLabel, usd } from "./format.ts";
import { sessionHref } from "./routes.ts";
import { TableHead } from "./table-head.tsx";

type Row = { session: Session; depth: number };

/**
 * Every session the login may see: status, a "needs you" marker, owner, name, workDir, turns, cost, age and
 * queue position; filtered by a search and a status, as parent → children trees or flat, newest first.
 */
export function FleetView(props: { fleet: FleetStore }) {
  const { fleet } = props;
  const [query, setQuery] = useState("");
  const [status, setStatus] = useState("");
  const [onlyNeedsYou, setOnlyNeedsYou] = useState(false);
  const [tree, setTree] = useState(true);
  const search = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // "/" jumps to the search box, as on most dashboards.
    const onKey = (event: KeyboardEvent) => {
      const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
      if (event.key === "/" && !typing) {
        event.preventDefault();
        search.current?.focus();
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);

  const pendingBySession = new Map<string, number>();
  for (const request of fleet.pending.values()) {
    pendingBySession.set(request.sessionId, (pendingBySession.get(request.sessionId) ?? 0) + 1);
  }
  const needle = query.trim().toLowerCase();
  const matches = (session: Session) =>
    (status === "" || session.status === status) &&
    (!onlyNeedsYou || needsYou(session, pendingBySession.get(session.id) ?? 0) !== undefined) &&
    (needle === "" ||
      [session.id, session.name ?? "", session.owner, String(session.config.workDir ?? "")]
        .join(" ")
        .toLowerCase()
        .includes(needle));
  const all = [...fleet.sessions.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const filtered = all.filter(matches);
  const rows: Row[] = tree ? asTrees(filtered) : filtered.map((session) => ({ session, depth: 0 }));
  const now = Date.now();

  return (
    <main>
      <h1>Fleet</h1>
      <fieldset class="filters">
        <legend class="sr-only">Filters</legend>
        <label>
          Search
          <input
            ref={search}
            type="search"
            placeholder="name, id, owner, folder  ( / )"
            value={query}
            onInput={(event) => setQuery(event.currentTarget.value)}
          />
        </label>
        <label>
          Status
          <select value={status} onChange={(event) => setStatus(event.currentTarget.value)}>
            <option value="">any</option>
            {["queued", "running", "waiting", "completed", "failed", "killed"].map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={onlyNeedsYou}
            onChange={(event) => setOnlyNeedsYou(event.currentTarget.checked)}
          />
          needs you
        </label>
        <label class="check">
          <input type="checkbox" checked={tree} onChange={(event) => setTree(event.currentTarget.checked)} />
          as trees
        </label>
      </fieldset>
      <p class="count" aria-live="polite">
        {fleet.loaded ? `${filtered.length} of ${all.length} sessions` : "Loading sessions…"}
      </p>
      <div class="table-wrap">
        <table class="fleet">
          <TableHead
            columns={["Name", "Status", "Owner", "Folder", "Turns", "Cost", "Age"]}
            numeric={["Turns", "Cost", "Age"]}
          />
          <tbody>
            {rows.map(({ session, depth }) => {
              const marker = needsYou(session, pendingBySession.get(session.id) ?? 0);
              return (
                <tr key={session.id} data-session={session.id} data-status={session.status}>
                  <td style={{ paddingLeft: `${0.5 + depth * 1.25}rem` }}>
                    {depth > 0 && <span aria-hidden="true">↳ </span>}
                    <a href={sessionHref(session.id)}>{sessionLabel(session)}</a>
                  </td>
                  <td>
                    <span class={`status status-${session.status}`}>{session.status}</span>
                    {session.queuePosition !== undefined && (
                      <span class="queue"> #{session.queuePosition} in queue</span>
                    )}
                    {marker && <span class={`needs needs-${marker}`}>needs you: {marker}</span>}
                  </td>
                  <td>{session.owner}</td>
                  <td class="path">{String(session.config.workDir ?? "")}</td>
                  <td class="num">{session.turns}</td>
                  <td class="num">{usd(session.costUsd)}</td>
                  <td class="num">{age(session.createdAt, now)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </main>
  );
}

/** Depth-first: each root (or a session whose parent is filtered out) followed by its descendants. */
function asTrees(sessions: Session[]): Row[] {
  const ids = new Set(sessions.map((session) => session.id));
  const children = new Map<string, Session[]>();
  for (const session of sessions) {
    const parent = session.parentSessionId;
    if (parent && ids.has(parent)) children.set(parent, [...(children.get(parent) ?? []), session]);
  }
  const rows: Row[] = [];
  const visit = (session: Session, depth: number) => {
    rows.push({ session, depth });
    for (const child of children.get(session.id) ?? []) visit(child, depth + 1);
  };
  for (const session of sessions) {
    if (!session.parentSessionId || !ids.has(session.parentSessionId)) visit(session, 0);
  }
  return rows;
}
