import type { FleetStore } from "./fleet.ts";
import { sessionLabel } from "./format.ts";
import { PermissionCard } from "./permission-card.tsx";
import { sessionHref } from "./routes.ts";

/** Every pending permission request across the fleet, oldest first, answerable in place. */
export function Inbox(props: { fleet: FleetStore; canAct: boolean }) {
  const requests = [...props.fleet.pending.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return (
    <main>
      <h1>Approvals</h1>
      {requests.length === 0 && <p class="muted">Nothing waits for you.</p>}
      <ol class="inbox">
        {requests.map((request) => {
          const session = props.fleet.sessions.get(request.sessionId);
          const label = session ? sessionLabel(session) : request.sessionId;
          return (
            <li key={request.id}>
              <p>
                <a href={sessionHref(request.sessionId)}>{label}</a>
              </p>
              <PermissionCard request={request} canAct={props.canAct} sessionLabel={label} />
            </li>
          );
        })}
      </ol>
    </main>
  );
}
