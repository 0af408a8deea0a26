import { useEffect, useState } from "preact/hooks";

export type Route =
  | { view: "fleet" }
  | { view: "inbox" }
  | { view: "spawn" }
  | { view: "session"; id: string };

/** Hash routes (#/, #/inbox, #/spawn, #/s/<id>): the server serves one page, the browser keeps history. */
export function parseRoute(hash: string): Route {
  const [, first, second] = hash.replace(/^#/, "").split("/");
  if (first === "inbox") return { view: "inbox" };
  if (first === "spawn") return { view: "spawn" };
  if (first === "s" && second) return { view: "session", id: decodeURIComponent(second) };
  return { view: "fleet" };
}

export function sessionHref(id: string): string {
  return `#/s/${encodeURIComponent(id)}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}
