/**
 * Every action a caller can take, and what kind of action it is. Each HTTP route declares one in its
 * `config.access` (build-server refuses to start with a route that declares none), the WebSocket and SSE
 * streams check `events.read`, and the authorization matrix test walks this table.
 *
 * - `open`: no token needed (health, the API description, the dashboard's static files).
 * - `signed`: no Baton token either; the sender proves who it is with its own signature over the request
 *   (Slack's signing secret), which the route checks before it reads the body. A Baton token opens nothing.
 * - `read` / `write`: viewers may read; writes need admin, or a user or agent acting on what it may touch.
 * - `target`: `session` when the route names a session (`:idOrName`), which the decision then depends on.
 */
export const ACTIONS = {
  open: { kind: "open", target: "none", verb: "use" },
  "slack.events": { kind: "signed", target: "none", verb: "deliver Slack events" },
  "whoami.read": { kind: "read", target: "none", verb: "ask who it is" },
  "login.link": { kind: "read", target: "none", verb: "make a login link" },
  "config.read": { kind: "read", target: "none", verb: "read the server configuration" },
  "metrics.read": { kind: "read", target: "none", verb: "read metrics" },
  "sessions.list": { kind: "read", target: "none", verb: "list sessions" },
  "sessions.spawn": { kind: "write", target: "none", verb: "spawn sessions" },
  "keys.send": { kind: "write", target: "none", verb: "message sessions by key" },
  "keys.read": { kind: "read", target: "none", verb: "look up sessions by key" },
  "events.read": { kind: "read", target: "none", verb: "read events" },
  "events.publish": { kind: "write", target: "none", verb: "publish events" },
  "permissions.list": { kind: "read", target: "none", verb: "list permission requests" },
  "locks.list": { kind: "read", target: "none", verb: "list locks" },
  "mcp.call": { kind: "read", target: "none", verb: "call the MCP tools" },
  "session.read": { kind: "read", target: "session", verb: "read" },
  "session.send": { kind: "write", target: "session", verb: "send a message to" },
  "session.wait": { kind: "write", target: "session", verb: "register a wait for" },
  "session.interrupt": { kind: "write", target: "session", verb: "interrupt" },
  "session.kill": { kind: "write", target: "session", verb: "kill" },
  "session.answer": { kind: "write", target: "session", verb: "answer a permission request of" },
  "session.lock": { kind: "write", target: "session", verb: "lock or unlock for" },
  "session.rename": { kind: "write", target: "session", verb: "rename" },
  "session.clear": { kind: "write", target: "session", verb: "clear" },
} as const satisfies Record<
  string,
  { kind: "open" | "signed" | "read" | "write"; target: "none" | "session"; verb: string }
>;

export type Action = keyof typeof ACTIONS;

/** What an agent may do to sessions of its tree, by action: the contract's "descendants only" rules. */
export const AGENT_REACH: Partial<Record<Action, "owner" | "self-or-descendant" | "descendant">> = {
  "session.read": "owner",
  "session.send": "owner",
  "session.wait": "self-or-descendant",
  "session.lock": "self-or-descendant",
  "session.rename": "self-or-descendant",
  "session.clear": "self-or-descendant",
  "session.interrupt": "descendant",
  "session.kill": "descendant",
  "session.answer": "descendant",
};

/** Untargeted actions only admins and viewers may take (they span every owner). */
export const FLEET_WIDE: ReadonlySet<Action> = new Set(["config.read", "metrics.read"]);

export function isAction(value: unknown): value is Action {
  return typeof value === "string" && Object.hasOwn(ACTIONS, value);
}
