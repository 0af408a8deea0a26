import { createHmac, timingSafeEqual } from "node:crypto";

/** Slack signs with version `v0`; a request older (or newer) than this is refused, so a replay goes stale. */
const MAX_SKEW_SECONDS = 5 * 60;

export interface SignedRequest {
  /** `X-Slack-Request-Timestamp`: Unix seconds when Slack sent it. */
  timestamp: string | undefined;
  /** `X-Slack-Signature`: `v0=` and the hex HMAC-SHA256. */
  signature: string | undefined;
  /** The body exactly as it arrived: the signature covers its bytes, not a re-serialised object. */
  rawBody: string;
}

/**
 * Why a request does not come from Slack, or undefined when it does: the `v0` HMAC-SHA256 of
 * `v0:<timestamp>:<raw body>` under the app's signing secret, with a timestamp within five minutes of now.
 * The comparison takes the same time wherever the first wrong byte is, so it leaks nothing about the secret.
 */
export function slackSignatureProblem(
  secret: string,
  request: SignedRequest,
  nowMs: number = Date.now(),
): string | undefined {
  const { timestamp, signature } = request;
  if (!timestamp || !signature) return "missing X-Slack-Signature or X-Slack-Request-Timestamp";
  const seconds = Number(timestamp);
  if (!/^\d+$/.test(timestamp) || !Number.isSafeInteger(seconds))
    return "malformed X-Slack-Request-Timestamp";
  if (Math.abs(nowMs / 1000 - seconds) > MAX_SKEW_SECONDS) {
    return "X-Slack-Request-Timestamp is more than five minutes away from now (a replay, or a skewed clock)";
  }
  const expected = Buffer.from(
    `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${request.rawBody}`).digest("hex")}`,
  );
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return "X-Slack-Signature does not match the body (wrong slackSigningSecret, or the body was altered)";
  }
  return undefined;
}
