import { hostname, networkInterfaces } from "node:os";
import type { FastifyRequest } from "fastify";
import { BatonError } from "../core/errors.ts";

export interface BrowserGuardOptions {
  /** The address Baton is bound to (`host` setting). */
  boundHost: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]", "::1"];
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * What keeps web pages from driving Baton through the user's browser:
 * - DNS rebinding: a page on evil.example re-points its name at 127.0.0.1 and calls Baton "same-origin";
 *   its requests still say `Host: evil.example`, so only known host names are served (421 otherwise).
 * - Cross-site requests and WebSocket hijacking: a browser names the page's origin in `Origin`; anything
 *   but Baton's own origins (or a configured one) is refused (403), whether it changes state, upgrades to a
 *   WebSocket or opens an event stream.
 * Clients that are not browsers send no `Origin` and are unaffected.
 */
export class BrowserGuard {
  private readonly hosts: ReadonlySet<string>;
  private readonly origins: ReadonlySet<string>;

  constructor(options: BrowserGuardOptions) {
    const hosts = new Set([...LOOPBACK_NAMES, ...options.allowedHosts.map((host) => host.toLowerCase())]);
    const bound = options.boundHost.toLowerCase();
    if (bound === "0.0.0.0" || bound === "::") {
      // Bound to every interface: the machine's own names and addresses are its own.
      hosts.add(hostname().toLowerCase());
      for (const list of Object.values(networkInterfaces())) {
        for (const address of list ?? [])
          hosts.add(address.family === "IPv6" ? `[${address.address}]` : address.address);
      }
    } else {
      hosts.add(bound.includes(":") && !bound.startsWith("[") ? `[${bound}]` : bound);
    }
    this.hosts = hosts;
    this.origins = new Set(options.allowedOrigins.map((origin) => new URL(origin).origin));
  }

  /** Throws HOST_NOT_ALLOWED or ORIGIN_NOT_ALLOWED; returns quietly for an acceptable request. */
  check(request: FastifyRequest): void {
    const host = hostOf(request.headers.host);
    if (!host || !this.hosts.has(host)) {
      throw new BatonError(
        "HOST_NOT_ALLOWED",
        `Host "${request.headers.host ?? ""}" is not one of Baton's names; add it to allowedHosts if you reach Baton through it`,
      );
    }
    const origin = request.headers.origin;
    if (origin === undefined) return;
    if (this.isOwnOrAllowed(origin, request)) return;
    const what = request.headers.upgrade
      ? "a WebSocket"
      : SAFE_METHODS.has(request.method)
        ? "a read"
        : "a change";
    throw new BatonError(
      "ORIGIN_NOT_ALLOWED",
      `${what} from origin ${origin} is refused (cross-site); add it to allowedOrigins to allow it`,
    );
  }

  /** True when `origin` may make cross-origin calls (CORS), i.e. it is configured. */
  allowsCors(origin: string): boolean {
    return this.origins.has(origin);
  }

  private isOwnOrAllowed(origin: string, request: FastifyRequest): boolean {
    if (this.origins.has(origin)) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false; // "null" (sandboxed frames, file: pages) and garbage
    }
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return this.hosts.has(url.hostname.toLowerCase()) && port === String(request.socket.localPort);
  }
}

function hostOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const lower = header.toLowerCase();
  if (lower.startsWith("[")) return lower.slice(0, lower.indexOf("]") + 1);
  return lower.split(":")[0];
}
