const SECRET_KEY = /(secret|token|passw(or)?d|api[_-]?key|authorization|credential|private[_-]?key)/i;

/**
 * A copy of `value` with the values of secret-looking keys replaced by "***", for events and notifications
 * that show a tool's input to people (permission requests). The stored request keeps the real input:
 * the tool must run with it.
 */
export function maskSecretValues(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => maskSecretValues(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      SECRET_KEY.test(key) && inner !== "" ? "***" : maskSecretValues(inner, depth + 1),
    ]),
  );
}
