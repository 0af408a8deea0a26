import { BatonApiError, BatonClient } from "../../src/client/baton-client.ts";

/**
 * The page talks to Baton through the same typed client as the CLI. It has no token: the browser sends the
 * HttpOnly login cookie with every same-origin request, and its own Origin on every change, which is what
 * Baton asks of cookie-authenticated changes (src/api/access-hooks.ts).
 */
export const client = new BatonClient({ url: location.origin });

/** The text to show a person for a failed call: the API's own message and code. */
export function errorText(error: unknown): string {
  if (error instanceof BatonApiError) {
    return error.code.startsWith("HTTP_") ? error.message : `${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function isUnauthenticated(error: unknown): boolean {
  return error instanceof BatonApiError && error.status === 401;
}
