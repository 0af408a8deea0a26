import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";

/**
 * The SSRF guard. Webhook URLs come from whoever spawns a session, so without it any caller could make
 * Baton POST into the private network it runs in (cloud metadata at 169.254.169.254, admin panels on
 * localhost). Names are checked on the addresses they resolve to, at connect time (see `guardedLookup`), so
 * a DNS answer that changes between a check and the connection (rebinding) cannot slip through.
 */
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  BLOCKED.addSubnet(network, prefix, "ipv4");
}
// No rule for IPv4-mapped IPv6 (::ffff:a.b.c.d): BlockList checks those against the IPv4 rules above, and an
// IPv6 rule covering them would also match every plain IPv4 address.
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["64:ff9b::", 96], // NAT64
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
] as const) {
  BLOCKED.addSubnet(network, prefix, "ipv6");
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return BLOCKED.check(address, family === 4 ? "ipv4" : "ipv6");
}

export class TargetRefusedError extends Error {
  readonly code = "TARGET_REFUSED";
  constructor(message: string) {
    super(message);
    this.name = "TargetRefusedError";
  }
}

export interface GuardSettings {
  allowPrivateTargets: boolean;
  outboundAllowlist: readonly string[];
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
export type LookupFunction = (hostname: string, options: { all?: boolean }, callback: LookupCallback) => void;

/**
 * Checks a URL before connecting. Returns the `lookup` the connection must use (undefined when no check is
 * needed), or throws TargetRefusedError for a refused scheme or literal address.
 */
export function guardTarget(url: URL, settings: GuardSettings): LookupFunction | undefined {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TargetRefusedError(`${url.protocol} URLs are not allowed; use http or https`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (
    settings.allowPrivateTargets ||
    settings.outboundAllowlist.some((allowed) => allowed.toLowerCase() === host)
  )
    return undefined;
  if (isIP(host) !== 0) {
    if (isPrivateAddress(host)) throw refused(host, host);
    return undefined;
  }
  return guardedLookup;
}

/** A dns.lookup that fails the connection when any address of the name is private. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const bad = addresses.find((entry) => isPrivateAddress(entry.address));
    if (bad) return callback(refused(hostname, bad.address), []);
    const first = addresses[0];
    if (!first) return callback(new Error(`${hostname} has no addresses`), []);
    if (options.all) return callback(null, addresses);
    return callback(null, first.address, first.family);
  });
};

function refused(host: string, address: string): TargetRefusedError {
  const via = host === address ? "" : ` (resolves to ${address})`;
  return new TargetRefusedError(
    `refused to send to ${host}${via}: loopback, private and link-local addresses need allowPrivateTargets or outboundAllowlist`,
  );
}
