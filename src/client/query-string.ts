import type { z } from "zod";
import type { EventQuerySchema } from "../events/event-query-schema.ts";

/* Query strings as Baton's routes read them: lists comma-separated, flags as true/false, empty values left out. */

/** A page of events as the client asks for it: the route's parsed query, all optional, plus a session. */
export type EventQuery = Partial<Omit<z.output<typeof EventQuerySchema>, "session">> & { session?: string };

export function eventParams(query: EventQuery): Record<string, string | number | boolean | undefined> {
  return {
    after: query.after,
    limit: query.limit,
    topics: query.topics?.join(","),
    output: query.output ? true : undefined,
    deltas: query.deltas ? true : undefined,
    session: query.session,
  };
}

export function toQuery(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== "") search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : "";
}
