/** One printed result of a benchmark: a titled table of rows, plus notes that say how to read it. */
export interface BenchTable {
  title: string;
  rows: Array<Record<string, string | number>>;
  notes?: string[];
}

/** Renders a table with aligned columns (numbers right-aligned, text left-aligned) as plain text. */
export function formatTable(table: BenchTable): string {
  const columns = [...new Set(table.rows.flatMap((row) => Object.keys(row)))];
  const cells = table.rows.map((row) => columns.map((column) => formatCell(row[column])));
  const numeric = columns.map((column) => table.rows.every((row) => looksNumeric(row[column])));
  const widths = columns.map((column, index) =>
    Math.max(column.length, ...cells.map((row) => (row[index] ?? "").length)),
  );
  const line = (values: string[]) =>
    values
      .map((value, index) => {
        const width = widths[index] ?? value.length;
        return numeric[index] ? value.padStart(width) : value.padEnd(width);
      })
      .join("  ")
      .trimEnd();
  const out = [`## ${table.title}`, ""];
  if (columns.length > 0) {
    out.push(line(columns), widths.map((width) => "-".repeat(width)).join("  "));
    for (const row of cells) out.push(line(row));
  } else {
    out.push("(no rows)");
  }
  for (const note of table.notes ?? []) out.push(`- ${note}`);
  return out.join("\n");
}

export function printTable(table: BenchTable): void {
  process.stdout.write(`${formatTable(table)}\n\n`);
}

/** Numbers, and strings that start like one ("12.5", "+3 ms", "n/a"), align to the right. */
function looksNumeric(value: string | number | undefined): boolean {
  if (value === undefined || typeof value === "number") return true;
  return /^[+-]?\d/.test(value) || value === "n/a";
}

function formatCell(value: string | number | undefined): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return String(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
