import type { Ref } from "preact";
import type { Session } from "../../src/sessions/session-schema.ts";
import { age, needsYou, sessionLabel, usd, waitText } from "./format.ts";
import { sessionHref } from "./routes.ts";

export const FLEET_COLUMNS = ["Name", "Status", "Owner", "Folder", "Turns", "Cost", "Age"];

/**
 * One session in the fleet table: status with its queue position, why it waits and a "needs you" marker.
 * `index` is its place in the whole (filtered) list: the virtualizer measures the row by it, and a screen
 * reader announces it (aria-rowindex; the header is row 1) although only nearby rows are in the DOM.
 */
export function FleetRow(props: {
  session: Session;
  depth: number;
  pending: number;
  index: number;
  now: number;
  measure: Ref<HTMLTableRowElement>;
}) {
  const { session, depth } = props;
  const marker = needsYou(session, props.pending);
  return (
    <tr
      ref={props.measure}
      data-index={props.index}
      aria-rowindex={props.index + 2}
      data-session={session.id}
      data-status={session.status}
    >
      <td style={{ paddingLeft: `${0.5 + depth * 1.25}rem` }}>
        {depth > 0 && <span aria-hidden="true">↳ </span>}
        <a href={sessionHref(session.id)}>{sessionLabel(session)}</a>
      </td>
      <td>
        <span class={`status status-${session.status}`}>{session.status}</span>
        {session.queuePosition !== undefined && <span class="queue"> #{session.queuePosition} in queue</span>}
        {marker && <span class={`needs needs-${marker}`}>needs you: {marker}</span>}
        {session.waitingOn && (
          <span class="waits" data-wait={session.waitingOn.kind}>
            {waitText(session.waitingOn)}
          </span>
        )}
      </td>
      <td>{session.owner}</td>
      <td class="path">{String(session.config.workDir ?? "")}</td>
      <td class="num">{session.turns}</td>
      <td class="num">{usd(session.costUsd)}</td>
      <td class="num">{age(session.createdAt, props.now)}</td>
    </tr>
  );
}
