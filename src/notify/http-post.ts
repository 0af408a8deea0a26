import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { VERSION } from "../core/version.ts";
import type { SendOutcome } from "./channel.ts";
import { classifyStatus, parseRetryAfter } from "./retry-policy.ts";
import { type GuardSettings, guardTarget, TargetRefusedError } from "./target-guard.ts";

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface PostOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  guard: GuardSettings;
  signal: AbortSignal;
}

/** Receivers' answers are only read for diagnostics: cap them so a hostile one cannot exhaust memory. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * One POST with a JSON body, through the SSRF guard, never following redirects, within a time limit.
 * Uses node:http rather than fetch because only `lookup` lets the guard check the address actually dialled.
 */
export function postJson(url: URL, body: string, options: PostOptions): Promise<HttpResponse> {
  const lookup = guardTarget(url, options.guard);
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": `Baton/${VERSION}`,
          ...options.headers,
          "content-length": String(Buffer.byteLength(body)),
        },
        agent: false,
        signal,
        ...(lookup ? { lookup } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
        // A body cut off (timeout, reset) ends in "close" without "end": never leave the promise hanging.
        response.on("close", () => {
          if (!response.complete) reject(new Error(`response from ${url.host} was cut off`));
        });
      },
    );
    request.on("error", (error) => {
      if (signal.aborted && !options.signal.aborted && !(error instanceof TargetRefusedError)) {
        reject(new Error(`timed out after ${options.timeoutMs} ms`));
      } else reject(error);
    });
    request.end(body);
  });
}

/** POSTs and turns the answer (or the failure) into a SendOutcome with the retry policy. */
export async function postForOutcome(url: URL, body: string, options: PostOptions): Promise<SendOutcome> {
  let response: HttpResponse;
  try {
    response = await postJson(url, body, options);
  } catch (error) {
    if (error instanceof TargetRefusedError) return { kind: "refused", error: error.message };
    return { kind: "retry", error: error instanceof Error ? error.message : String(error) };
  }
  return outcomeOf(url, response);
}

export function outcomeOf(url: URL, response: HttpResponse): SendOutcome {
  const { status } = response;
  const verdict = classifyStatus(status);
  if (verdict === "delivered") return { kind: "delivered", httpStatus: status };
  const detail = `HTTP ${status}${response.body ? `: ${response.body.slice(0, 200)}` : ""}`;
  if (verdict === "gone") return { kind: "gone", httpStatus: status, url: url.href, error: detail };
  if (verdict === "retry") {
    const retryAfterMs = parseRetryAfter(headerText(response.headers["retry-after"]));
    return {
      kind: "retry",
      httpStatus: status,
      error: detail,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  if (status >= 300 && status < 400) {
    const location = headerText(response.headers.location);
    return {
      kind: "rejected",
      httpStatus: status,
      error: `HTTP ${status} redirect${location ? ` to ${location}` : ""} not followed; configure the final URL`,
    };
  }
  return { kind: "rejected", httpStatus: status, error: detail };
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
