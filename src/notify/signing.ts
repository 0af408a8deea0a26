import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256, base64, sent as `v1,<signature>`. With several
 * secrets configured every one signs and the signatures are space-separated, so a receiver can rotate its
 * secret without a window where deliveries fail verification.
 */
export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature"?: string;
}

/** `whsec_<base64>` secrets carry their key bytes in base64 (the spec's format); anything else is used as is. */
export function secretKey(secret: string): Buffer {
  return secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
}

export function computeSignature(secret: string, id: string, timestamp: number, body: string): string {
  return createHmac("sha256", secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest("base64");
}

export function signedHeaders(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): SignedHeaders {
  const headers: SignedHeaders = { "webhook-id": id, "webhook-timestamp": String(timestamp) };
  if (secrets.length > 0) {
    headers["webhook-signature"] = secrets
      .map((secret) => `v1,${computeSignature(secret, id, timestamp, body)}`)
      .join(" ");
  }
  return headers;
}

export interface VerifyInput {
  secret: string;
  id: string;
  timestamp: string;
  signatureHeader: string;
  body: string;
  /** Seconds a timestamp may be away from now (replay protection); default 300. */
  toleranceSeconds?: number;
  nowSeconds?: number;
}

/** What a receiver does: true when one of the header's `v1` signatures matches and the timestamp is fresh. */
export function verifySignature(input: VerifyInput): boolean {
  const timestamp = Number(input.timestamp);
  if (!Number.isInteger(timestamp)) return false;
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (input.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(computeSignature(input.secret, input.id, timestamp, input.body));
  return input.signatureHeader.split(" ").some((part) => {
    const [version, signature] = part.split(",", 2);
    if (version !== "v1" || !signature) return false;
    const candidate = Buffer.from(signature);
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  });
}
