/**
 * The dependency rule of docs/architecture.md, checked: every import in src/ and web/src/ must point
 * sideways or down. Run by `npm run check` (and `npm run lint`); an upward import fails with the file,
 * the line and the rule it breaks.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** The project to check: this one, or the folder given as the first argument (the test's fixtures). */
const ROOT = resolve(process.argv[2] ?? join(import.meta.dirname, ".."));
const SRC = join(ROOT, "src");

/** What each folder of src/ may import besides itself: the picture in docs/architecture.md. */
const LAYERS: Record<string, readonly string[]> = {
  core: [],
  store: ["core"],
  events: ["core", "store"],
  sessions: ["core", "store", "events"],
  access: ["core", "store", "events", "sessions"],
  runner: ["core", "sessions"],
  locks: ["core", "store", "events", "sessions"],
  worktrees: ["core", "store", "events", "sessions"],
  ops: ["core", "store", "events", "sessions", "runner"],
  // Several nodes on one PostgreSQL database: membership, session ownership and fencing, the shared bus.
  cluster: ["core", "store", "events", "sessions"],
  notify: ["core", "store", "events", "sessions", "access"],
  coordination: ["core", "sessions", "access", "locks", "client"],
  mcp: ["core", "sessions", "coordination", "client"],
  api: ["core", "store", "events", "sessions", "access", "locks", "ops", "mcp", "coordination", "cluster"],
  "mock-model": [],
  // Callers of Baton: the client library speaks only the wire shapes; the CLI goes through the client's
  // one door (client/index.ts), plus what `baton serve` and the local token file need.
  client: [],
  cli: ["core"],
};

/** Shapes on the wire (Zod schemas, the event catalogue, the WebSocket frames): what callers may import. */
function isWireModule(path: string): boolean {
  return (
    path.endsWith("-schema.ts") ||
    [
      "events/catalogue.ts",
      "api/ws/ws-protocol.ts",
      "core/errors.ts",
      "core/effective-config.ts",
      // The status names and their named sets ("is it still busy?") are part of the contract.
      "sessions/session-status.ts",
      "core/session-status-names.ts",
    ].includes(path)
  );
}

/** Exceptions, each with its reason. */
const ALLOWED: Record<string, string> = {
  "cli->access/token-file.ts": "the CLI reads the local admin token file",
  "cli->coordination/session-neighbours.ts": "`baton children`/`others` share the agents' listing logic",
  "cli->app.ts": "`baton serve` starts the server in the CLI's process",
  "cli->store/home-lock.ts": "`baton serve` reports which server holds the home's lock",
  "cli->mock-model/index.ts": "`baton mock-model` runs the scripted model server",
  "cli->mcp/stdio-server.ts": "`baton mcp` serves the coordination tools over stdio in the CLI's process",
  "cli->coordination/agent-tools.ts": "`baton mcp` builds the same tool set the agents get",
};

interface Violation {
  file: string;
  line: number;
  target: string;
  why: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

const IMPORT = /(?:^|\s)(?:import|export)\s[^"';]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g;

function importsOf(file: string): { target: string; line: number }[] {
  const text = readFileSync(file, "utf8");
  const found: { target: string; line: number }[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const target = match[1] ?? match[2];
    if (!target?.startsWith(".")) continue;
    found.push({ target, line: text.slice(0, match.index).split("\n").length });
  }
  return found;
}

function folderOf(srcPath: string): string {
  return srcPath.includes("/") ? (srcPath.split("/")[0] ?? "") : "(root)";
}

function checkSource(file: string): Violation[] {
  const from = relative(SRC, file);
  const layer = folderOf(from);
  if (layer === "(root)") return []; // app.ts, main.ts: the composition root knows every part
  const allowed = LAYERS[layer];
  const violations: Violation[] = [];
  for (const { target, line } of importsOf(file)) {
    const to = relative(SRC, resolve(dirname(file), target));
    const toLayer = folderOf(to);
    if (toLayer === layer) continue;
    const where = { file: relative(ROOT, file), line, target: to };
    if (ALLOWED[`${layer}->${to}`]) continue;
    if (layer === "cli" && to.startsWith("client/") && to !== "client/index.ts") {
      violations.push({ ...where, why: "the CLI uses the client through its one door, client/index.ts" });
      continue;
    }
    if ((layer === "client" || layer === "cli") && (isWireModule(to) || to === "client/index.ts")) continue;
    if (allowed === undefined) violations.push({ ...where, why: `folder ${layer} has no rule in LAYERS` });
    else if (!allowed.includes(toLayer))
      violations.push({ ...where, why: `${layer} may import only ${allowed.join(", ") || "itself"}` });
  }
  return violations;
}

/** The dashboard: type-only imports of wire shapes, and the HTTP client at run time. */
function checkWeb(file: string): Violation[] {
  const violations: Violation[] = [];
  for (const { target, line } of importsOf(file)) {
    const to = relative(ROOT, resolve(dirname(file), target));
    if (!to.startsWith("src/")) continue;
    const inSrc = to.slice("src/".length);
    // The HTTP client is platform-neutral; index.ts also exports the Node-only WebSocket follower.
    if (inSrc === "client/baton-client.ts" || isWireModule(inSrc)) continue;
    violations.push({
      file: relative(ROOT, file),
      line,
      target: to,
      why: "web/ imports only src/client/baton-client.ts and wire shapes",
    });
  }
  return violations;
}

const webSrc = join(ROOT, "web", "src");
const violations = [
  ...sourceFiles(SRC).flatMap(checkSource),
  ...(existsSync(webSrc) ? sourceFiles(webSrc).flatMap(checkWeb) : []),
];
for (const v of violations) console.error(`${v.file}:${v.line} imports ${v.target}: ${v.why}`);
if (violations.length > 0) {
  console.error(`\n${violations.length} import(s) break the dependency rule (docs/architecture.md).`);
  process.exit(1);
}
console.log("layers: every import points sideways or down");
