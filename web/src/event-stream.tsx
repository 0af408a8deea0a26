import type { BatonEvent, SessionEventData } from "../../src/events/catalogue.ts";
import { brief, pretty, usd } from "./format.ts";

type ToolUse = SessionEventData<"session.tool_use">;
type ToolDone = SessionEventData<"session.tool_done">;

/**
 * A session's events for a person: assistant text as text, each tool call folded with its input and result,
 * the rest as one line each. Every item carries its event's seq (data-seq), once.
 */
export function EventStream(props: { events: BatonEvent[] }) {
  const results = new Map<string, ToolDone>();
  for (const event of props.events) {
    if (event.topic === "session.tool_done") {
      const done = event.data as ToolDone;
      results.set(done.toolUseId, done);
    }
  }
  const shown = props.events.filter(
    (event) =>
      event.topic !== "session.tool_done" ||
      !props.events.some(
        (use) =>
          use.topic === "session.tool_use" &&
          (use.data as ToolUse).toolUseId === (event.data as ToolDone).toolUseId,
      ),
  );
  return (
    <ol class="stream" aria-label="Events">
      {shown.map((event) => (
        <li key={event.seq} data-seq={event.seq} data-topic={event.topic} class={itemClass(event.topic)}>
          <EventItem event={event} results={results} />
        </li>
      ))}
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
