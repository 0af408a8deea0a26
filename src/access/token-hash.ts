import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** A new bearer token: 32 random bytes, URL-safe, with a prefix that says what it is when it leaks. */
export function newToken(kind: "admin" | "agent"): string {
  return `baton_${kind}_${randomBytes(32).toString("base64url")}`;
}

export function sha256Hex(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * Compares two SHA-256 digests in constant time. Comparing digests (always 32 bytes) rather than the
 * tokens themselves means neither the length nor the prefix of a configured token leaks through timing.
 */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
