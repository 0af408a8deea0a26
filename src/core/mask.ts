const SECRET_KEY = /(secret|token|passw(or)?d|api[_-]?key|authorization|credential|private[_-]?key)/i;

/** Does this key name (a setting, an environment variable, a JSON field) look like it holds a secret? */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

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

/** Secrets shorter than this are not scrubbed from text: too likely to match ordinary words. */
const MIN_SCRUBBED_LENGTH = 8;

/**
 * A function that replaces every occurrence of a known secret value (configured tokens, API keys, agent
 * environment values, webhook and bot secrets) in a text with "***". Applied to every log line and to
 * every stored event, so a credential that ends up in a prompt, a tool input or an error message is not
 * written out. Matches the JSON-escaped form too, since both logs and events are JSON.
 */
export function makeSecretScrubber(secrets: Iterable<string>): (text: string) => string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SCRUBBED_LENGTH) continue;
    needles.add(secret);
    needles.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first, so a secret that contains another is replaced whole.
  const ordered = [...needles].sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const needle of ordered) if (out.includes(needle)) out = out.replaceAll(needle, "***");
    return out;
  };
}

/** Every string inside a setting's value (strings, lists, maps, and lists of objects). */
export function stringsIn(value: unknown, depth = 0): string[] {
  if (typeof value === "string") return [value];
  if (depth > 4 || value === null || typeof value !== "object") return [];
  return Object.values(value).flatMap((inner) => stringsIn(inner, depth + 1));
}
