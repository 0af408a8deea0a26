/**
 * Dollar amounts as Baton shows and returns them: to the micro-dollar. Costs are sums of binary floats (the
 * CLI's per-request prices, Baton's carried totals), which print as `0.0024000000000000002`; a millionth
 * of a dollar is finer than any price the API charges per request.
 */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
