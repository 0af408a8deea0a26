/**
 * The OpenTelemetry side of tracing.ts, loaded only when tracing is on. Spans are made by hand (no
 * auto-instrumentation: see docs/operations.md, "Traces"), batched and exported over OTLP/HTTP (JSON).
 * The exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself (endpoint, headers, timeout);
 * the batch processor's OTEL_BSP_* variables are read here.
 */
import { type Attributes, SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import {
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
  serviceNameEnvDetector,
} from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  type BatchSpanProcessorOptions,
  type ReadableSpan,
  type SpanExporter,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from "@opentelemetry/semantic-conventions";
import type { ModelUsageDelta } from "../sessions/runner-port.ts";
import type { OpenTurn, TurnLabels, TurnResult, TurnTracer } from "../sessions/turn-trace.ts";
import type { FinishedRequest, Tracing, TracingOptions } from "./tracing.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** How long stop() waits for the last spans to be exported. */
const STOP_TIMEOUT_MS = 5000;

/** Outcomes that are not errors: the turn did what it was asked, or a human stopped it. */
const OK_OUTCOMES = new Set(["success", "interrupted"]);

export function createOtelTracing(env: Env, endpoint: string, options: TracingOptions): Tracing {
  // OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES override the defaults.
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: "baton",
    [ATTR_SERVICE_VERSION]: options.version,
  }).merge(detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] }));
  const exporter = reportingFailures(new OTLPTraceExporter(), options.onError);
  const provider = new TracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor({ exporter, ...batchOptionsFrom(env) })],
  });
  const tracer = provider.getTracer("baton", options.version);
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    turns: turnTracer(tracer),
    recordRequest: (request) => recordRequest(tracer, request),
    stop() {
      // A collector that hangs must not hold Baton's shutdown (whose deadline is 30 s) past a few seconds.
      const flushed = provider.shutdown().catch((error: unknown) => options.onError(error, "shutdown"));
      stopping ??= Promise.race([flushed, delay(STOP_TIMEOUT_MS)]);
      return stopping;
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A server span named by the route pattern (never the raw URL: ids would make every name unique). */
function recordRequest(tracer: Tracer, request: FinishedRequest): void {
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: request.method,
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: request.statusCode,
  };
  if (request.route) attributes[ATTR_HTTP_ROUTE] = request.route;
  if (request.sessionRef) attributes["baton.session.ref"] = request.sessionRef;
  const name = request.route ? `${request.method} ${request.route}` : request.method;
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: request.startMs, attributes });
  // For a server span only 5xx is an error: a 4xx is the caller's mistake, answered correctly.
  if (request.statusCode >= 500) {
    span.setAttribute(ATTR_ERROR_TYPE, String(request.statusCode));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end(request.startMs + request.durationMs);
}

function turnTracer(tracer: Tracer): TurnTracer {
  return {
    startTurn(labels: TurnLabels): OpenTurn {
      const attributes: Attributes = {
        "baton.session.id": labels.sessionId,
        "baton.session.owner": labels.owner,
      };
      if (labels.model) attributes["gen_ai.request.model"] = labels.model;
      const span = tracer.startSpan("turn", { kind: SpanKind.INTERNAL, attributes });
      return {
        end(result: TurnResult) {
          span.setAttributes(resultAttributes(result));
          if (!OK_OUTCOMES.has(result.outcome))
            span.setStatus({ code: SpanStatusCode.ERROR, message: result.outcome });
          span.end();
        },
      };
    },
  };
}

/** Token names from the GenAI semantic conventions (still experimental, so spelled out, not imported). */
function resultAttributes(result: TurnResult): Attributes {
  const attributes: Attributes = { "baton.turn.outcome": result.outcome };
  if (result.costUsd !== undefined) attributes["baton.turn.cost_usd"] = result.costUsd;
  if (result.modelRequests !== undefined) attributes["baton.turn.model_requests"] = result.modelRequests;
  const usage = result.usage;
  if (!usage) return attributes;
  const sum = (pick: (entry: ModelUsageDelta) => number) =>
    usage.reduce((total, entry) => total + pick(entry), 0);
  attributes["gen_ai.usage.input_tokens"] = sum((entry) => entry.inputTokens);
  attributes["gen_ai.usage.output_tokens"] = sum((entry) => entry.outputTokens);
  attributes["gen_ai.usage.cache_read.input_tokens"] = sum((entry) => entry.cacheReadTokens);
  attributes["gen_ai.usage.cache_creation.input_tokens"] = sum((entry) => entry.cacheWriteTokens);
  attributes["baton.turn.models"] = usage.map((entry) => entry.model);
  return attributes;
}

/** The exporter, with failed exports (collector down, refused) reported instead of dropped silently. */
function reportingFailures(exporter: SpanExporter, onError: TracingOptions["onError"]): SpanExporter {
  return {
    export(spans: ReadableSpan[], done) {
      exporter.export(spans, (result) => {
        if (result.error || result.code !== 0)
          onError(result.error ?? new Error("export refused"), `exporting ${spans.length} span(s)`);
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

/** The batch processor's standard variables (the SDK's own defaults otherwise). */
function batchOptionsFrom(env: Env): Omit<BatchSpanProcessorOptions, "exporter"> {
  const number = (name: string) => {
    const value = Number(env[name]);
    return env[name]?.trim() && Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  const options: Omit<BatchSpanProcessorOptions, "exporter"> = {};
  const delay = number("OTEL_BSP_SCHEDULE_DELAY");
  const queue = number("OTEL_BSP_MAX_QUEUE_SIZE");
  const batch = number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
  const timeout = number("OTEL_BSP_EXPORT_TIMEOUT");
  if (delay !== undefined) options.scheduledDelayMillis = delay;
  if (queue !== undefined) options.maxQueueSize = queue;
  if (batch !== undefined) options.maxExportBatchSize = batch;
  if (timeout !== undefined) options.exportTimeoutMillis = timeout;
  return options;
}
