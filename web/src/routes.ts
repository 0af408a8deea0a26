import { useEffect, useState } from "preact/hooks";

export type Route =
  | { view: "fleet" }
  | { view: "inbox" }
  | { view: "overview" }
  | { view: "spawn" }
  | { view: "session"; id: string };

/** Hash routes (#/, #/inbox, #/overview, #/spawn, #/s/<id>): one page from the server, history in the browser. */
export function parseRoute(hash: string): Route {
  const [, first, second] = hash.replace(/^#/, "").split("/");
  if (first === "inbox") return { view: "inbox" };
  if (first === "spawn") return { view: "spawn" };
  if (first === "overview") return { view: "overview" };
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
