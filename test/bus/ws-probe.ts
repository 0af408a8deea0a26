import type { TestContext } from "node:test";
import WebSocket from "ws";
import type { ServerFrame } from "../../src/api/ws/ws-protocol.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { TEST_TOKEN } from "../support/auth.ts";

type EventFrame = Extract<ServerFrame, { type: "event" }>;

/**
 * A raw WebSocket client for protocol tests, on the `ws` package (it can pause reading, which a slow
 * consumer needs, and it reports close codes as sent). Records every frame; closed by the test's t.after.
 */
export class WsProbe {
  readonly frames: ServerFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly socket: WebSocket;
  private readonly waiters = new Set<() => void>();

  /** The socket's last error; failures also surface through `closed` and the open promise. */
  error: Error | undefined;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on("error", (error) => {
      this.error = error;
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.waiters) wake();
      });
    });
    socket.on("message", (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerFrame);
      for (const wake of this.waiters) wake();
    });
  }

  /** Authenticates with `token` (the test admin token by default; `false` sends no credentials). */
  static async open(
    t: TestContext,
    baseUrl: string,
    options: WebSocket.ClientOptions & { query?: string; token?: string | false } = {},
  ): Promise<WsProbe> {
    const { query, token = TEST_TOKEN, headers, ...socketOptions } = options;
    const socket = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/ws${query ?? ""}`, {
      ...socketOptions,
      headers: token === false ? headers : { authorization: `Bearer ${token}`, ...headers },
    });
    const probe = new WsProbe(socket);
    t.after(() => probe.terminate());
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("unexpected-response", (_request, response) =>
        reject(new Error(`handshake refused: HTTP ${response.statusCode}`)),
      );
      socket.once("close", (code) => reject(new Error(`closed ${code} before open`)));
    });
    return probe;
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** The first frame (already received or arriving before the deadline) that satisfies `predicate`. */
  async waitFor<T extends ServerFrame = ServerFrame>(
    predicate: (frame: ServerFrame) => boolean,
    timeoutMs = 10_000,
    what = "frame",
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found as T;
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.readyState === WebSocket.CLOSED) {
        const last = this.frames.slice(-5).map((frame) => JSON.stringify(frame).slice(0, 160));
        throw new Error(`no ${what} within ${timeoutMs} ms; last frames:\n  ${last.join("\n  ")}`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** Subscribes and waits for the `subscribed` answer. */
  async subscribe(frame: Record<string, unknown> & { id: string }): Promise<void> {
    this.send({ type: "subscribe", ...frame });
    await this.waitFor((f) => f.type === "subscribed" && f.id === frame.id, 10_000, `subscribed ${frame.id}`);
  }

  /** The events delivered to one subscription, in arrival order, as plain events. */
  events(subscription: string): BatonEvent[] {
    return this.frames
      .filter((frame): frame is EventFrame => frame.type === "event" && frame.subscription === subscription)
      .map(({ type: _type, subscription: _subscription, ...event }) => event);
  }

  /** Waits until `subscription` has received an event with seq >= `seq`. */
  async waitForSeq(subscription: string, seq: number, timeoutMs = 10_000): Promise<void> {
    await this.waitFor(
      (frame) => frame.type === "event" && frame.subscription === subscription && frame.seq >= seq,
      timeoutMs,
      `event #${seq} on ${subscription}`,
    );
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.close(1000);
  }

  terminate(): void {
    this.socket.terminate();
  }
}

/** 1..n, for "exactly the full sequence" assertions. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);
}
