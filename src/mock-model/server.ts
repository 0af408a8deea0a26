// The scripted model server: speaks enough of the Anthropic Messages API for the `claude` CLI to run
// whole agent turns offline, answering from the `@` directives in the conversation.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decideAnswer, type HangCounts } from "./answer.ts";
import { messagesRequestSchema } from "./conversation.ts";
import {
  BodyTooLargeError,
  readBody,
  sendApiError,
  sendJson,
  waitForClose,
  waitUnlessClosed,
} from "./http-io.ts";
import type { LimitClocks } from "./limit.ts";
import { type MockModelRequest, makeRequestLog, type RequestLog } from "./request-log.ts";
import { writeMessageJson, writeMessageStream } from "./sse.ts";

export interface MockModelOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Receives one JSON line per request. */
  log?: (line: string) => void;
}

export interface MockModel {
  url: string;
  port: number;
  requests: readonly MockModelRequest[];
  waitForRequest(predicate: (r: MockModelRequest) => boolean, timeoutMs?: number): Promise<MockModelRequest>;
  stop(): Promise<void>;
}

interface ServerContext {
  requestLog: RequestLog;
  hangs: HangCounts;
  limits: LimitClocks;
  nextSeq: () => number;
  writeLog: (entry: Record<string, unknown>) => void;
}

export async function startMockModel(options: MockModelOptions = {}): Promise<MockModel> {
  const host = options.host ?? "127.0.0.1";
  const requestLog = makeRequestLog();
  let seq = 0;
  const context: ServerContext = {
    requestLog,
    hangs: new Map(),
    limits: new Map(),
    nextSeq: () => ++seq,
    writeLog: (entry) => options.log?.(JSON.stringify(entry)),
  };
  const server = createServer((request, response) => {
    routeRequest(context, request, response).catch((error: unknown) => {
      context.writeLog({ path: request.url, failure: String(error) });
      sendApiError(response, 500, "api_error", `mock model failure: ${String(error)}`);
    });
  });
  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    requests: requestLog.requests,
    waitForRequest: (predicate, timeoutMs) => requestLog.waitFor(predicate, timeoutMs),
    stop() {
      // A concurrent or repeated caller shares the first stop.
      stopping ??= closeServer(server, requestLog);
      return stopping;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

async function closeServer(server: Server, requestLog: RequestLog): Promise<void> {
  requestLog.close("mock model stopped before a matching request arrived");
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Hung and keep-alive connections would otherwise hold close() open indefinitely.
  server.closeAllConnections();
  await closed;
}

async function routeRequest(context: ServerContext, request: IncomingMessage, response: ServerResponse) {
  const path = new URL(request.url ?? "/", "http://mock.invalid").pathname;
  const method = request.method ?? "GET";
  if (path === "/api/hello" && (method === "HEAD" || method === "GET")) {
    response.writeHead(200).end();
    return;
  }
  if (path === "/v1/messages" && method === "POST") return answerMessages(context, request, response, path);
  if (path === "/v1/messages/count_tokens" && method === "POST") return answerCountTokens(request, response);
  context.writeLog({ method, path, answer: "not found" });
  await readBody(request).catch(() => "");
  sendApiError(response, 404, "not_found_error", `mock model has no route ${method} ${path}`);
}

async function answerMessages(
  context: ServerContext,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
): Promise<void> {
  const sessionId = headerValue(request, "x-claude-code-session-id");
  const received = { seq: context.nextSeq(), at: new Date().toISOString(), path, sessionId };
  const body = await readJsonBody(request, response);
  if (body === undefined) {
    context.requestLog.record({ ...received, messageCount: 0, body: undefined });
    context.writeLog({ seq: received.seq, sessionId, answer: `error ${response.statusCode}` });
    return;
  }
  const parsed = messagesRequestSchema.safeParse(body);
  if (!parsed.success) {
    context.requestLog.record({ ...received, messageCount: 0, body });
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "body";
    sendApiError(response, 400, "invalid_request_error", `${field}: ${issue?.message ?? "invalid request"}`);
    context.writeLog({ seq: received.seq, sessionId, answer: "error 400 invalid body" });
    return;
  }
  const decision = decideAnswer(parsed.data, sessionId, context.hangs, context.limits, credentialOf(request));
  const { instruction, step } = decision;
  context.requestLog.record({
    ...received,
    model: parsed.data.model,
    instruction,
    step,
    messageCount: parsed.data.messages.length,
    body,
  });
  context.writeLog({ seq: received.seq, sessionId, step, answer: decision.summary });
  if (!(await waitUnlessClosed(response, decision.delayMs))) return;
  const answer = decision.answer;
  if (answer.kind === "hang") return waitForClose(response);
  if (answer.kind === "error")
    return sendApiError(response, answer.status, answer.errorType, answer.message, answer.headers);
  if (parsed.data.stream === true) return writeMessageStream(response, answer.message);
  writeMessageJson(response, answer.message);
}

/** Returns the parsed body, or undefined after answering the error itself. */
async function readJsonBody(request: IncomingMessage, response: ServerResponse): Promise<unknown> {
  let text: string;
  try {
    text = await readBody(request);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    sendApiError(response, 413, "request_too_large", error.message);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    sendApiError(response, 400, "invalid_request_error", "request body is not valid JSON");
    return undefined;
  }
}

async function answerCountTokens(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readJsonBody(request, response);
  if (body === undefined) return;
  // Roughly four characters per token, as a stand-in for a real tokenizer.
  sendJson(response, 200, { input_tokens: Math.ceil(JSON.stringify(body).length / 4) });
}

/** The API key or OAuth token the request carries (for `@revoked`). */
function credentialOf(request: IncomingMessage): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(headerValue(request, "authorization") ?? "")?.[1];
  return headerValue(request, "x-api-key") ?? bearer;
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
