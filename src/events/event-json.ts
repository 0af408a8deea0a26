import type { BatonEvent } from "./catalogue.ts";

/**
 * An event's JSON, made once however many places send it: the `201` of its publish, and every WebSocket
 * frame and SSE message that carries it (at a thousand events a second to a hundred subscribers, each
 * `JSON.stringify` of the same event is CPU the bus's tail latency is made of). Events are immutable once
 * logged, so the text never goes stale; it is dropped with the event.
 */
const JSON_OF = new WeakMap<BatonEvent, string>();

export function eventJson(event: BatonEvent): string {
  let json = JSON_OF.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    JSON_OF.set(event, json);
  }
  return json;
}
