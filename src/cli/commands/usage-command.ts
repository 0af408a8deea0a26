import { type Command, InvalidArgumentError } from "commander";
import type { UsageReport } from "../../ops/usage-schema.ts";
import { formatCost, renderTable } from "../format.ts";
import { clientFrom, type GlobalOptions, print, runCommand } from "../run-command.ts";

const GROUPINGS = ["owner", "tree", "day", "model"];
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

interface UsageOptions {
  by: string;
  since?: string;
  until?: string;
  owner?: string;
}

export function registerUsageCommand(program: Command): void {
  program
    .command("usage")
    .description("tokens and cost per owner, tree, UTC day or model, with totals")
    .option("--by <grouping>", "owner | tree | day | model", grouping, "owner")
    .option(
      "--since <when>",
      "only turns that ended since: a duration back (30m, 12h, 7d, 2w) or an ISO date",
      instant,
    )
    .option("--until <when>", "only turns that ended before: a duration back or an ISO date", instant)
    .option("--owner <owner>", "only this owner's sessions")
    .addHelpText("after", "\nExample:\n  baton usage --by day --since 7d")
    .action((options: UsageOptions, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const report = await clientFrom(global).usage({
          groupBy: options.by,
          ...(options.since && { from: options.since }),
          ...(options.until && { to: options.until }),
          ...(options.owner && { owner: options.owner }),
        });
        print(global, report, (value) => usageTable(options.by, value));
      }),
    );
}

export function usageTable(by: string, report: UsageReport): string {
  if (report.rows.length === 0) return "no usage recorded in this range";
  const cells = (key: string, sums: UsageReport["total"]) => [
    key,
    formatCost(sums.costUsd),
    String(sums.inputTokens),
    String(sums.outputTokens),
    String(sums.cacheReadTokens),
    String(sums.cacheWriteTokens),
    String(sums.turns),
    String(sums.sessions),
  ];
  return renderTable(
    [by.toUpperCase(), "COST", "INPUT", "OUTPUT", "CACHE READ", "CACHE WRITE", "TURNS", "SESSIONS"],
    [...report.rows.map((row) => cells(row.key, row)), cells("TOTAL", report.total)],
  );
}

function grouping(value: string): string {
  if (!GROUPINGS.includes(value)) throw new InvalidArgumentError(`expected one of ${GROUPINGS.join(", ")}`);
  return value;
}

/** `7d` (a duration back from now) or an ISO date/date-time, as an ISO timestamp. */
function instant(value: string): string {
  const relative = /^(\d+)([mhdw])$/.exec(value);
  if (relative)
    return new Date(Date.now() - Number(relative[1]) * (UNIT_MS[relative[2] ?? "d"] ?? 0)).toISOString();
  if (!Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  throw new InvalidArgumentError("expected a duration such as 7d, 12h, 30m, 2w, or an ISO date");
}
