import type { BatonEvent, SessionEventData } from "../../src/events/catalogue.ts";
import { brief, pretty, usd } from "./format.ts";

type ToolUse = SessionEventData<"session.tool_use">;
type ToolDone = SessionEventData<"session.tool_done">;
type Output = SessionEventData<"session.output">;

/**
 * A session's events for a person: assistant text as text (growing as it streams, when Baton stores deltas,
 * until the complete text replaces it), each tool call folded with its input and result, the rest as one
 * line each. Every item but a streaming text carries its event's seq (data-seq), once.
 */
export function EventStream(props: { events: BatonEvent[] }) {
  const results = new Map<string, ToolDone>();
  const used = new Set<string>();
  const whole = new Set<string>();
  for (const event of props.events) {
    if (event.topic === "session.tool_done")
      results.set((event.data as ToolDone).toolUseId, event.data as ToolDone);
    if (event.topic === "session.tool_use") used.add((event.data as ToolUse).toolUseId);
    const output = event.topic === "session.output" ? (event.data as Output) : undefined;
    if (output?.messageId && output.delta !== true) whole.add(output.messageId);
  }
  // Streamed pieces of a text whose complete version has not arrived yet, joined, shown where they began.
  const streaming = new Map<string, { first: BatonEvent; text: string }>();
  for (const event of props.events) {
    const output = event.topic === "session.output" ? (event.data as Output) : undefined;
    if (output?.delta !== true || !output.messageId || whole.has(output.messageId)) continue;
    const sofar = streaming.get(output.messageId);
    if (sofar) sofar.text += output.text;
    else streaming.set(output.messageId, { first: event, text: output.text });
  }
  return (
    <ol class="stream" aria-label="Events">
      {props.events.map((event) => {
        if (event.topic === "session.tool_done" && used.has((event.data as ToolDone).toolUseId)) return null;
        if (event.topic === "session.output" && event.data.delta === true) {
          const stream = streaming.get(String(event.data.messageId));
          if (stream?.first !== event) return null;
          return (
            <li
              key={`stream-${event.seq}`}
              data-streaming="true"
              class="item output streaming"
              aria-busy="true"
            >
              <p class="assistant">
                <span class="text">{stream.text}</span>
                <span class="muted"> (writing…)</span>
              </p>
            </li>
          );
        }
        return (
          <li key={event.seq} data-seq={event.seq} data-topic={event.topic} class={itemClass(event.topic)}>
            <EventItem event={event} results={results} />
          </li>
        );
      })}
    </ol>
  );
}

function itemClass(topic: string): string {
  return `item ${topic.replace("session.", "").replace(/[^a-z_]/g, "")}`;
}

function EventItem(props: { event: BatonEvent; results: Map<string, ToolDone> }) {
  const { event } = props;
  const data = event.data;
  const time = <time dateTime={event.ts}>{new Date(event.ts).toLocaleTimeString()}</time>;
  switch (event.topic) {
    case "session.created":
      return (
        <p>
          {time} <strong>Prompt</strong>
          <span class="text">{String((data.config as { prompt?: unknown }).prompt ?? "")}</span>
        </p>
      );
    case "session.output":
      return (
        <p class="assistant">
          {time} <span class="text">{String(data.text)}</span>
        </p>
      );
    case "session.tool_use": {
      const use = data as ToolUse;
      const done = props.results.get(use.toolUseId);
      return (
        <details class="tool">
          <summary>
            {time} <strong>{use.name}</strong> <code>{brief(use.input)}</code>{" "}
            {done ? (
              <span class={done.isError ? "bad" : "good"}>{done.isError ? "failed" : "done"}</span>
            ) : (
              <span class="muted">running…</span>
            )}
          </summary>
          <h3>Input</h3>
          <pre>{pretty(use.input)}</pre>
          {done && (
            <>
              <h3>Result</h3>
              <pre>{done.summary}</pre>
            </>
          )}
        </details>
      );
    }
    case "session.completed":
      return (
        <p>
          {time} <strong>Turn complete</strong> · {usd(Number(data.costUsd))} · {String(data.turns)} turns
        </p>
      );
    case "session.failed":
      return (
        <p class="bad">
          {time} <strong>Failed</strong> ({String(data.reason)}): {String(data.error)}
        </p>
      );
    case "session.permission_requested":
      return (
        <p>
          {time} <strong>Asked permission</strong> for {String(data.toolName)}
        </p>
      );
    case "session.permission_resolved":
      return (
        <p>
          {time} <strong>Permission {data.decision === "allow" ? "allowed" : "denied"}</strong> for{" "}
          {String(data.toolName)}
          {data.by ? ` by ${String(data.by)}` : ""}
          {data.inputEdited === true && " with edited input"}
          {typeof data.message === "string" && `: “${data.message}”`}
        </p>
      );
    case "session.message_queued":
    case "session.message_delivered":
      return (
        <p>
          {time} Message {event.topic.endsWith("queued") ? "queued" : "delivered"} ({String(data.mode)})
          {data.from ? ` from ${String(data.from)}` : ""}
        </p>
      );
    default:
      return (
        <p class="muted">
          {time} {event.topic.replace("session.", "")}
          {typeof data.by === "string" ? ` by ${data.by}` : ""}
        </p>
      );
  }
}
