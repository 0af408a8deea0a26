// The event-bus benchmark's publisher, and the clock it shares with the subscribers
// (bus-bench-subscribers.ts); Baton itself runs as a child process (bus-bench-baton.ts).
import { connect } from "node:net";
import { TEST_TOKEN } from "../test/support/auth.ts";

/** Milliseconds on a clock shared by the publisher and every subscriber (they run in this one process). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Publishes `count` events on `bench.tick` at `ratePerSecond` through `POST /events`, each stamped with
 * its send time, paced against the clock (catching up after a slow tick). Requests are pipelined over a few
 * keep-alive sockets by hand: Node's HTTP client costs ~0.4 ms of CPU per request here, which on a small
 * machine would take the CPU the benchmark is meant to give Baton.
 */
export async function publishAtRate(url: string, count: number, ratePerSecond: number): Promise<number> {
  const { hostname, port } = new URL(url);
  const sockets = await Promise.all(Array.from({ length: 16 }, () => openPipeline(hostname, Number(port))));
  const started = now();
  let sent = 0;
  const answered = () => sockets.reduce((total, socket) => total + socket.answered, 0);
  while (sent < count) {
    // A Baton that died or hung up mid-run would otherwise leave this loop waiting for answers forever.
    if (sockets.some((socket) => socket.closed)) throw new Error("Baton closed a publishing connection");
    const due = Math.min(count, Math.floor(((now() - started) * ratePerSecond) / 1000) + 1);
    while (sent < due && sent - answered() < 256) {
      const body = JSON.stringify({ topic: "bench.tick", data: { index: sent, sentAt: now() } });
      sockets[sent % sockets.length]?.post("/events", body);
      sent += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const deadline = Date.now() + 30_000;
  while (answered() < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  const elapsed = now() - started;
  for (const socket of sockets) socket.close();
  const failed = count - sockets.reduce((total, socket) => total + socket.created, 0);
  if (failed > 0) throw new Error(`${failed} of ${count} publishes failed or got no 201`);
  return (count * 1000) / elapsed;
}

interface Pipeline {
  answered: number;
  created: number;
  closed: boolean;
  post(path: string, body: string): void;
  close(): void;
}

/** One keep-alive connection that sends requests back to back and counts the answers (201s apart). */
function openPipeline(host: string, port: number): Promise<Pipeline> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    socket.setEncoding("latin1");
    const pipeline: Pipeline = {
      answered: 0,
      created: 0,
      closed: false,
      post(path, body) {
        socket.write(
          `POST ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\nauthorization: Bearer ${TEST_TOKEN}\r\n` +
            "content-type: application/json\r\n" +
            `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      },
      close: () => socket.destroy(),
    };
    let pending = "";
    socket.on("data", (chunk: string) => {
      pending += chunk;
      for (;;) {
        const headEnd = pending.indexOf("\r\n\r\n");
        if (headEnd < 0) return;
        const head = pending.slice(0, headEnd);
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < headEnd + 4 + length) return;
        pending = pending.slice(headEnd + 4 + length);
        pipeline.answered += 1;
        if (head.startsWith("HTTP/1.1 201")) pipeline.created += 1;
      }
    });
    // Before connecting an error fails the run; after, missing answers do (publishAtRate counts them).
    socket.on("error", reject);
    socket.once("close", () => {
      pipeline.closed = true;
    });
    socket.once("connect", () => resolve(pipeline));
  });
}
