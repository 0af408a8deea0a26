// Small HTTP helpers for the mock model: bounded body reading, API-shaped errors, waits that end when the
// client goes away (so a hung or delayed request never outlives its connection).
import type { IncomingMessage, ServerResponse } from "node:http";

/** Far above anything the CLI sends; stops a runaway client from filling memory. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export class BodyTooLargeError extends Error {
  constructor() {
    super(`request body exceeds ${MAX_BODY_BYTES} bytes`);
    this.name = "BodyTooLargeError";
  }
}

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The Messages API error shape; the CLI reads `error.type` and `error.message` from it. */
export function sendApiError(
  response: ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, { ...headers, "content-type": "application/json" });
  response.end(JSON.stringify({ type: "error", error: { type, message } }));
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

/** Resolves when the connection closes (client disconnect or server stop). */
export function waitForClose(response: ServerResponse): Promise<void> {
  if (response.destroyed || response.writableFinished) return Promise.resolve();
  return new Promise((resolve) => response.once("close", () => resolve()));
}

/** Waits `ms`; resolves false early if the connection closes meanwhile, so no timer outlives it. */
export function waitUnlessClosed(response: ServerResponse, ms: number): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!response.destroyed);
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      response.off("close", onClose);
      resolve(true);
    }, ms);
    response.once("close", onClose);
  });
}
