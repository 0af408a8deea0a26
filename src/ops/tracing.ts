import { describeError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { TurnTracer } from "../sessions/turn-trace.ts";

/**
 * Optional OpenTelemetry traces (docs/operations.md, "Traces"): a span per HTTP request and per turn,
 * exported over OTLP/HTTP when the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variable is set.
 *
 * This file imports nothing from @opentelemetry: with tracing off, `startTracing` resolves undefined
 * without loading the SDK (tracing-sdk.ts is imported dynamically), no request hook is registered and a
 * turn costs one `undefined` check. test/ops/tracing.test.ts proves that no @opentelemetry module loads.
 */
export interface Tracing {
  /** The span per turn, for the run supervisor (sessions/turn-trace.ts). */
  readonly turns: TurnTracer;
  /** Records one finished HTTP request as a span. */
  recordRequest(request: FinishedRequest): void;
  /** Where spans go, for the start-up log line. */
  readonly endpoint: string;
  /** Exports the spans still buffered, then stops; idempotent. */
  stop(): Promise<void>;
}

export interface FinishedRequest {
  method: string;
  /** The matched route pattern (`/sessions/:idOrName`), undefined when no route matched. */
  route: string | undefined;
  statusCode: number;
  /** When the request arrived (ms since the epoch) and how long it took. */
  startMs: number;
  durationMs: number;
  /** The `:idOrName` of a session route, as given. */
  sessionRef: string | undefined;
}

export interface TracingOptions {
  version: string;
  /** Export failures (collector down) are reported here, never thrown into a request or a turn. */
  onError(error: unknown, context: string): void;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The endpoint spans go to, or undefined when tracing is off (no endpoint, or switched off by the spec's variables). */
export function tracingEndpoint(env: Env): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "").split(",").map((name) => name.trim().toLowerCase());
  if (exporters.includes("none")) return undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return endpoint || undefined;
}

/**
 * Starts the tracer when the environment asks for it, and says so in the log; resolves undefined, having
 * loaded nothing, otherwise.
 */
export async function startTracing(
  env: Env,
  options: { version: string; logger: Logger },
): Promise<Tracing | undefined> {
  const endpoint = tracingEndpoint(env);
  if (!endpoint) return undefined;
  const { logger, version } = options;
  const { createOtelTracing } = await import("./tracing-sdk.ts");
  const tracing = createOtelTracing(env, endpoint, {
    version,
    onError: (error, context) => logger.warn({ err: error }, `tracing: ${context}: ${describeError(error)}`),
  });
  logger.info({ endpoint }, "tracing: exporting spans over OTLP/HTTP");
  return tracing;
}
