import { useEffect, useRef, useState } from "preact/hooks";
import type { Session } from "../../src/sessions/session-schema.ts";
import type { FleetStore } from "./fleet.ts";
import { FLEET_COLUMNS, FleetRow } from "./fleet-row.tsx";
import { needsYou } from "./format.ts";
import { TableHead } from "./table-head.tsx";
import { useWindowVirtualizer } from "./window-virtualizer.ts";

type Row = { session: Session; depth: number };

/** A first guess for rows not yet rendered; each rendered row is measured. */
const ROW_HEIGHT_PX = 40;

/**
 * Every session the login may see: status, a "needs you" marker, owner, name, workDir, turns, cost, age and
 * queue position and why it waits; filtered by a search and a status, as parent → children trees or flat,
 * newest first. Only the rows near the viewport are in the DOM (virtualised), so a thousand sessions render
 * as fast as a screenful.
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
  // Where the list starts on the page (it scrolls with the window): read from the last render's layout.
  const body = useRef<HTMLTableSectionElement>(null);
  const scrollMargin = body.current ? body.current.getBoundingClientRect().top + window.scrollY : 0;
  const virtualizer = useWindowVirtualizer({
    count: rows.length,
    estimateSize: () => ROW_HEIGHT_PX,
    getItemKey: (index) => rows[index]?.session.id ?? index,
    overscan: 10,
    scrollMargin,
  });
  const visible = virtualizer.getVirtualItems();

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
        <table class="fleet" aria-rowcount={rows.length + 1}>
          <TableHead columns={FLEET_COLUMNS} numeric={["Turns", "Cost", "Age"]} rowIndex={1} />
          <tbody ref={body}>
            <Spacer height={(visible[0]?.start ?? scrollMargin) - scrollMargin} />
            {visible.map((item) => {
              const row = rows[item.index] as Row;
              return (
                <FleetRow
                  key={row.session.id}
                  session={row.session}
                  depth={row.depth}
                  pending={pendingBySession.get(row.session.id) ?? 0}
                  index={item.index}
                  now={now}
                  measure={virtualizer.measureElement}
                />
              );
            })}
            <Spacer
              height={virtualizer.getTotalSize() - ((visible.at(-1)?.end ?? scrollMargin) - scrollMargin)}
            />
          </tbody>
        </table>
      </div>
    </main>
  );
}

/** Stands in for the rows above or below the rendered ones, so the page keeps its full height. */
function Spacer(props: { height: number }) {
  if (props.height <= 0) return null;
  return (
    // biome-ignore lint/a11y/noAriaHiddenOnFocusable: an empty row, nothing in it takes focus; hidden so a screen reader does not count it
    <tr class="spacer" aria-hidden="true">
      <td colSpan={FLEET_COLUMNS.length} style={{ height: `${props.height}px` }} />
    </tr>
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
