import { useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import type { Whoami } from "../../src/access/whoami-schema.ts";
import { client, errorText, isUnauthenticated } from "./api.ts";
import { ErrorLine } from "./error-line.tsx";
import { FleetStore } from "./fleet.ts";
import { FleetView } from "./fleet-view.tsx";
import { Inbox } from "./inbox.tsx";
import { type LinkState, LiveFeed } from "./live.ts";
import { Login } from "./login.tsx";
import { Overview } from "./overview.tsx";
import { useRoute } from "./routes.ts";
import { SessionView } from "./session-view.tsx";
import { SpawnForm } from "./spawn-form.tsx";

type Auth = { state: "checking" } | { state: "out"; notice?: string } | { state: "in"; who: Whoami };

export function App() {
  const [auth, setAuth] = useState<Auth>({ state: "checking" });
  const check = async (notice?: string) => {
    try {
      setAuth({ state: "in", who: await client.whoami() });
    } catch (error) {
      setAuth({ state: "out", notice: isUnauthenticated(error) ? notice : errorText(error) });
    }
  };
  useEffect(() => void check(), []);
  if (auth.state === "checking") return <p class="loading">Loading…</p>;
  if (auth.state === "out") return <Login notice={auth.notice} onLoggedIn={() => void check()} />;
  return (
    <Dashboard
      who={auth.who}
      onLoggedOut={(notice) => setAuth({ state: "out", ...(notice !== undefined && { notice }) })}
    />
  );
}

function Dashboard(props: { who: Whoami; onLoggedOut: (notice?: string) => void }) {
  const route = useRoute();
  const fleet = useMemo(() => new FleetStore(), []);
  const [link, setLink] = useState<LinkState>("connecting");
  const [loadError, setLoadError] = useState<string | undefined>(undefined);
  const [, bump] = useReducer((count: number) => count + 1, 0);
  const rerender = () => bump(undefined);
  const canAct = props.who.role !== "viewer";

  const loggedOut = useRef(props.onLoggedOut);
  loggedOut.current = props.onLoggedOut;
  // The page's one WebSocket; the session view adds its own subscription on it for streamed text.
  const feed = useMemo(() => {
    const reload = () => fleet.load().catch((error: unknown) => setLoadError(errorText(error)));
    const live: LiveFeed = new LiveFeed({
      onEvent: (event) => fleet.apply(event),
      onState: setLink,
      onGap: () => void reload(),
      onRefused: () => {
        client.whoami().catch((error: unknown) => {
          if (!isUnauthenticated(error)) return;
          live.stop();
          loggedOut.current("Your login ended; log in again.");
        });
      },
    });
    return { live, reload };
  }, [fleet]);
  useEffect(() => {
    const unsubscribe = fleet.subscribe(rerender);
    feed.live.start();
    void feed.reload();
    return () => {
      unsubscribe();
      feed.live.stop();
    };
  }, [feed]);

  const logOut = async () => {
    await client.logOut().catch(() => undefined);
    props.onLoggedOut();
  };
  const inboxCount = fleet.pending.size;
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/">
          Baton
        </a>
        <nav aria-label="Views">
          <a href="#/" aria-current={route.view === "fleet" ? "page" : undefined}>
            Fleet
          </a>
          <a href="#/inbox" aria-current={route.view === "inbox" ? "page" : undefined}>
            Approvals{inboxCount > 0 && <span class="badge">{inboxCount}</span>}
          </a>
          <a href="#/overview" aria-current={route.view === "overview" ? "page" : undefined}>
            Queue &amp; locks
          </a>
          {canAct && (
            <a href="#/spawn" aria-current={route.view === "spawn" ? "page" : undefined}>
              Spawn
            </a>
          )}
        </nav>
        <span class={`link link-${link}`} role="status" data-testid="link-state">
          {link === "live" ? "live" : link === "reconnecting" ? "reconnecting…" : "connecting…"}
        </span>
        <span class="who" title={props.who.principal}>
          {props.who.principal} ({props.who.role})
        </span>
        <button type="button" class="quiet" onClick={() => void logOut()}>
          Log out
        </button>
      </header>
      <ErrorLine message={loadError} />
      {route.view === "fleet" && <FleetView fleet={fleet} />}
      {route.view === "inbox" && <Inbox fleet={fleet} canAct={canAct} />}
      {route.view === "overview" && <Overview fleet={fleet} />}
      {route.view === "spawn" && canAct && <SpawnForm />}
      {route.view === "session" && (
        <SessionView key={route.id} id={route.id} fleet={fleet} live={feed.live} canAct={canAct} />
      )}
    </div>
  );
}
