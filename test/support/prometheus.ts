import { createRequire } from "node:module";

/** One sample of a parsed metric family (counters and gauges carry `value`, histograms `count` and `sum`). */
export interface PromSample {
  labels?: Record<string, string>;
  value?: string;
  count?: string;
  sum?: string;
  buckets?: Record<string, string>;
}

export interface PromFamily {
  name: string;
  help: string;
  type: string;
  metrics: PromSample[];
}

// parse-prometheus-text-format (the prom2json shape) ships CommonJS without types.
const parse = createRequire(import.meta.url)("parse-prometheus-text-format") as (
  text: string,
) => PromFamily[];

/** A scrape, parsed by a real Prometheus text-format parser, with lookups by name and labels. */
export class Scrape {
  readonly families: Map<string, PromFamily>;

  constructor(text: string) {
    this.families = new Map(parse(text).map((family) => [family.name, family]));
  }

  family(name: string): PromFamily {
    const family = this.families.get(name);
    if (!family) throw new Error(`metric ${name} missing from the scrape`);
    return family;
  }

  /** The sample's value (a histogram's count), 0 when no sample has these labels. */
  value(name: string, labels: Record<string, string> = {}): number {
    const sample = this.family(name).metrics.find((candidate) =>
      Object.entries(labels).every(([key, value]) => candidate.labels?.[key] === value),
    );
    return Number(sample?.value ?? sample?.count ?? 0);
  }
}
