/**
 * The admin token every test Baton is configured with (harness, `baton serve` children, the CLI), so tests
 * authenticate exactly as real clients do: `Authorization: Bearer <token>` on every request.
 */
export const TEST_TOKEN = "baton-test-admin-token-0123456789";

/** `headers` plus the bearer header for `token` (the test admin token unless another is given). */
export function authHeaders(
  headers: Record<string, string> = {},
  token = TEST_TOKEN,
): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...headers };
}
