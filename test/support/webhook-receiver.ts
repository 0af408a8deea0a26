import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { waitUntil } from "./wait-until.ts";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined. */
  json: unknown;
  /** When it arrived (ms). */
  at: number;
  /** The status this receiver answered with. */
  status: number;
}

export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** Decides the answer to the n-th request (0-based, counted over all paths). */
export type Responder = (
  request: { path: string; body: string; headers: IncomingHttpHeaders },
  index: number,
) => ReceiverAnswer;

export interface WebhookReceiver {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  requests: ReceivedRequest[];
  respondWith(responder: Responder): void;
  /** Resolves with the requests once `predicate` holds for the list; rejects at the deadline. */
  waitFor(
    predicate: (requests: ReceivedRequest[]) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedRequest[]>;
  stop(): Promise<void>;
}

/** Answers each request in turn from a list, then with the last entry for ever. */
export function answerInTurn(...answers: ReceiverAnswer[]): Responder {
  return (_request, index) => answers[Math.min(index, answers.length - 1)] ?? { status: 200 };
}

/** A real HTTP server on 127.0.0.1 that records what it is sent and answers as the test says. */
export async function startWebhookReceiver(
  responder: Responder = () => ({ status: 200 }),
): Promise<WebhookReceiver> {
  let respond = responder;
  const requests: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const path = request.url ?? "/";
      const answer = respond({ path, body, headers: request.headers }, requests.length);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      requests.push({
        method: request.method ?? "",
        path,
        headers: request.headers,
        body,
        json,
        at: Date.now(),
        status: answer.status,
      });
      response.writeHead(answer.status, { "content-type": "text/plain", ...answer.headers });
      response.end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respondWith(next) {
      respond = next;
    },
    waitFor(predicate, timeoutMs = 15_000) {
      return waitUntil(
        () => (predicate(requests) ? [...requests] : undefined),
        timeoutMs,
        "webhook requests",
      );
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
