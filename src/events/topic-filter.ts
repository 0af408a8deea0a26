/**
 * Topic patterns: an exact topic, a prefix wildcard `session.*` (any depth below `session.`), or `*`.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return topic.startsWith(pattern.slice(0, -1));
  return pattern === topic;
}

export function matchesAny(patterns: readonly string[], topic: string): boolean {
  return patterns.length === 0 || patterns.some((pattern) => topicMatches(pattern, topic));
}

/**
 * The same patterns as SQL LIKE expressions, so replay filters in the database. `_` in a topic is a LIKE
 * wildcard, so these select a superset; callers re-check rows with `matchesAny`.
 */
export function toLikePatterns(patterns: readonly string[]): string[] {
  if (patterns.length === 0 || patterns.includes("*")) return [];
  return patterns.map((pattern) => (pattern.endsWith(".*") ? `${pattern.slice(0, -1)}%` : pattern));
}
