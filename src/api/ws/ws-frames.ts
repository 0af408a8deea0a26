import { describeError, isBatonError } from "../../core/errors.ts";
import type { ServerFrame } from "./ws-protocol.ts";

/**
 * Each event's whole frame is built once per subscription id, however many connections carry it (clients
 * mostly reuse the same ids): server frames are unmasked, so the bytes are the same on every connection,
 * and at 100 subscribers serialising and framing is otherwise the fan-out's main CPU cost. `event` is the
 * cache key (the event object both processes hold once per event), `json` its JSON (event-json.ts).
 */
const ENCODED = new WeakMap<object, Map<string, Buffer>>();

export function encodeEventFrame(subscription: string, event: object, json: () => string): Buffer {
  let byId = ENCODED.get(event);
  if (!byId) {
    byId = new Map();
    ENCODED.set(event, byId);
  }
  let frame = byId.get(subscription);
  if (!frame) {
    const body = json().slice(1);
    frame = textFrame(`{"type":"event","subscription":${JSON.stringify(subscription)},${body}`);
    byId.set(subscription, frame);
  }
  return frame;
}

export function serverFrame(frame: ServerFrame): Buffer {
  return textFrame(JSON.stringify(frame));
}

/**
 * What a refused subscription is told. A cursor the log does not cover gets a `reset`: one older than
 * retention kept (possibly after `subscribed`, when pruning overtook replay), or one past the newest event.
 * Other Baton errors keep their stable code; anything else is INTERNAL (and `unexpected` is told).
 */
export function refusalFrame(
  id: string,
  error: unknown,
  latestSeq: number,
  unexpected: (error: unknown) => void,
): ServerFrame {
  if (isBatonError(error) && (error.code === "CURSOR_EXPIRED" || error.code === "CURSOR_AHEAD")) {
    return { type: "reset", subscription: id, oldestSeq: Number(error.details?.oldestSeq), latestSeq };
  }
  if (isBatonError(error))
    return { type: "error", code: error.code, message: error.message, subscription: id };
  unexpected(error);
  return {
    type: "error",
    code: "INTERNAL",
    message: `internal error: ${describeError(error)}`,
    subscription: id,
  };
}

/**
 * An unmasked, final text frame (RFC 6455 §5.2): the header is 2, 4 or 10 bytes by payload length. The
 * text is encoded straight into the frame, with no intermediate buffer.
 */
export function textFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN + opcode 1 (text)
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(payload, headerLength, "utf8");
  return frame;
}
