import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { BatonClient } from "../../src/client/baton-client.ts";
import { type MockModel, startMockModel } from "../../src/mock-model/index.ts";
import { tracingEndpoint } from "../../src/ops/tracing.ts";
import { type ProcessExtras, startBatonProcess, stopBatonProcess } from "../support/baton-process.ts";
import { testSettings } from "../support/harness.ts";
import { assertNoLeakedProcesses, waitForNoDescendants } from "../support/leak-guard.ts";
import { isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";

/** A span as an OTLP/HTTP JSON receiver sees it, attributes decoded. */
interface ReceivedSpan {
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  status: { code?: number };
  startNs: bigint;
  endNs: bigint;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
type OtlpAttribute = { key: string; value: OtlpValue };

function decodeValue(value: OtlpValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  return (value.arrayValue?.values ?? []).map(decodeValue);
}

function decodeAttributes(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, decodeValue(value)]));
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return request.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
}

/** A collector's OTLP/HTTP trace endpoint (POST /v1/traces, JSON encoding), keeping what it receives. */
async function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const posts: { path: string; contentType: string | undefined }[] = [];
  const server = createServer(async (request, response) => {
    posts.push({ path: request.url ?? "", contentType: request.headers["content-type"] });
    if (request.method !== "POST" || request.url !== "/v1/traces") {
      response.writeHead(404).end();
      return;
    }
    const payload = JSON.parse((await readBody(request)).toString("utf8"));
    for (const resourceSpans of payload.resourceSpans ?? []) {
      const resource = decodeAttributes(resourceSpans.resource?.attributes);
      for (const scope of resourceSpans.scopeSpans ?? [])
        for (const span of scope.spans ?? [])
          spans.push({
            name: span.name,
            kind: span.kind,
            attributes: decodeAttributes(span.attributes),
            resource,
            status: span.status ?? {},
            startNs: BigInt(span.startTimeUnixNano),
            endNs: BigInt(span.endTimeUnixNano),
          });
    }
    response.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    posts,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Loaded before Baton's own code: writes every module URL the process loaded, and who imported each
 * @opentelemetry package, to a file when it exits.
 */
const RECORDER = `
import { registerHooks } from "node:module";
import { writeFileSync } from "node:fs";
const loaded = new Set();
const importers = new Set();
registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith("@opentelemetry/")) importers.add(specifier + " <- " + context.parentURL);
    return next(specifier, context);
  },
  load(url, context, next) { loaded.add(url); return next(url, context); },
});
process.on("exit", () =>
  writeFileSync(process.env.LOADED_MODULES_FILE, JSON.stringify({ loaded: [...loaded], importers: [...importers] })));
`;

interface LoadedModules {
  loaded: string[];
  /** `@opentelemetry/x <- file:///…/importer.js` */
  importers: string[];
}

/**
 * A real `baton serve` (with the module recorder) and the scripted model: GET /health, one session whose
 * turn completes, GET /sessions/:id; then SIGTERM. Resolves with the session id and the modules it loaded.
 */
async function runScenario(
  t: test.TestContext,
  env: ProcessExtras["env"],
  beforeStop: () => void = () => undefined,
): Promise<{ sessionId: string; modules: LoadedModules }> {
  const root = mkdtempSync(join(tmpdir(), "baton-trace-"));
  const recorder = join(root, "recorder.mjs");
  const loadedFile = join(root, "loaded.txt");
  writeFileSync(recorder, RECORDER);
  const mock: MockModel = await startMockModel();
  t.after(async () => {
    await mock.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const baton = await startBatonProcess(testSettings(root, mock.url), 60_000, {
    env: { ...env, LOADED_MODULES_FILE: loadedFile },
    nodeArgs: ["--import", recorder],
  });
  let sessionId = "";
  try {
    const client = new BatonClient({ url: baton.url, token: baton.token });
    assert.equal((await client.health()).ok, true);
    assert.equal((await fetch(`${baton.url}/sessions`)).status, 401, "no token: refused");
    const session = await client.spawn({ prompt: "@say traced", workDir: root, owner: "alice" });
    sessionId = session.id;
    const end = await waitForEvent(
      { url: baton.url, session: session.id, timeoutMs: 60_000 },
      isTurnEnd(session.id),
    );
    assert.equal(end.topic, "session.completed");
    assert.equal((await client.get(session.id)).id, session.id);
    beforeStop();
  } finally {
    await stopBatonProcess(baton);
  }
  const exit = await baton.exited;
  assert.equal(exit.code, 0, baton.logs());
  await waitForNoDescendants();
  assertNoLeakedProcesses("tracing scenario");
  return { sessionId, modules: JSON.parse(readFileSync(loadedFile, "utf8")) as LoadedModules };
}

/**
 * An OpenTelemetry module other than the API. The API alone is a no-op facade, and the Anthropic SDK that
 * the Agent SDK depends on loads it for its own optional tracing whatever Baton does.
 */
const isOtelSdkModule = (url: string) =>
  url.includes("/node_modules/@opentelemetry/") && !url.includes("/node_modules/@opentelemetry/api/");
const BATON_SOURCE = new URL("../../src/", import.meta.url).href;

test("with OTEL_EXPORTER_OTLP_ENDPOINT set, each HTTP request and each turn is a span at an OTLP receiver, flushed at stop", async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.stop());
  let receivedBeforeStop = -1;
  const { sessionId, modules } = await runScenario(
    t,
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
      OTEL_SERVICE_NAME: undefined,
      OTEL_RESOURCE_ATTRIBUTES: undefined,
      OTEL_SDK_DISABLED: undefined,
      OTEL_TRACES_EXPORTER: undefined,
      // No timed export during the scenario: what arrives was exported by Baton's stop().
      OTEL_BSP_SCHEDULE_DELAY: "600000",
    },
    () => {
      receivedBeforeStop = receiver.spans.length;
    },
  );
  assert.equal(receivedBeforeStop, 0, "nothing was exported before the stop");
  // What the next test checks is absent is present here: the check can fail.
  assert.ok(modules.loaded.some(isOtelSdkModule), "the SDK was loaded");
  assert.ok(
    modules.importers.some((line) => line.includes(BATON_SOURCE)),
    "imported by Baton's code",
  );
  assert.ok(receiver.posts.length > 0);
  for (const post of receiver.posts) {
    assert.equal(post.path, "/v1/traces");
    assert.match(post.contentType ?? "", /application\/json/);
  }

  const health = receiver.spans.find((span) => span.name === "GET /health");
  assert.ok(health, `a GET /health span among ${receiver.spans.map((span) => span.name).join(", ")}`);
  assert.equal(health.kind, 2, "a server span");
  assert.equal(health.attributes["http.route"], "/health");
  assert.equal(health.attributes["http.request.method"], "GET");
  assert.equal(health.attributes["http.response.status_code"], 200);
  assert.ok(health.endNs >= health.startNs);
  assert.equal(health.resource["service.name"], "baton");
  assert.equal(typeof health.resource["service.version"], "string");

  const turns = receiver.spans.filter((span) => span.name === "turn");
  assert.equal(turns.length, 1, "one turn, one span");
  const turn = turns[0];
  assert.ok(turn);
  assert.equal(turn.attributes["baton.session.id"], sessionId);
  assert.equal(turn.attributes["baton.session.owner"], "alice");
  assert.equal(turn.attributes["baton.turn.outcome"], "success");
  assert.equal(turn.attributes["baton.turn.model_requests"], 1);
  assert.equal(typeof turn.attributes["baton.turn.cost_usd"], "number");
  assert.ok(Number(turn.attributes["gen_ai.usage.output_tokens"]) > 0, "tokens are reported");
  assert.ok(Array.isArray(turn.attributes["baton.turn.models"]));
  assert.notEqual(turn.status.code, 2, "a successful turn is not an error");
  assert.ok(turn.endNs > turn.startNs);

  // Span names carry route patterns, never ids: the session's own route is named by its pattern.
  const show = receiver.spans.find((span) => span.name === "GET /sessions/:idOrName");
  assert.ok(show, "GET /sessions/:id is named by its route");
  assert.equal(show.attributes["baton.session.ref"], sessionId);
  for (const span of receiver.spans) assert.doesNotMatch(span.name, /ses_/, `span name ${span.name}`);
  const refused = receiver.spans.find((span) => span.name === "GET /sessions");
  assert.equal(refused?.attributes["http.response.status_code"], 401, "a refused request is a span too");
  const spawn = receiver.spans.find((span) => span.name === "POST /sessions");
  assert.equal(spawn?.attributes["http.response.status_code"], 201);
});

test("with no OTLP endpoint, Baton serves requests and turns without importing or loading the OpenTelemetry SDK", async (t) => {
  const { modules } = await runScenario(t, {
    OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
  });
  assert.ok(
    modules.loaded.some((url) => url.includes("/node_modules/fastify/")),
    "the recorder works",
  );
  assert.deepEqual(modules.loaded.filter(isOtelSdkModule), []);
  assert.deepEqual(
    modules.importers.filter((line) => line.includes(BATON_SOURCE)),
    [],
    "no Baton module imports @opentelemetry",
  );
});

test("tracing is on only with an OTLP endpoint, and the spec's switches turn it off", () => {
  assert.equal(tracingEndpoint({}), undefined);
  assert.equal(tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: " " }), undefined);
  assert.equal(tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }), "http://c:4318");
  const perSignal = "http://t:4318/v1/traces";
  assert.equal(tracingEndpoint({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: perSignal }), perSignal);
  const on = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
  assert.equal(tracingEndpoint({ ...on, OTEL_SDK_DISABLED: "true" }), undefined);
  assert.equal(tracingEndpoint({ ...on, OTEL_TRACES_EXPORTER: "none" }), undefined);
  assert.equal(tracingEndpoint({ ...on, OTEL_TRACES_EXPORTER: "otlp" }), "http://c:4318");
});
