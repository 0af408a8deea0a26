import { useState } from "preact/hooks";
import type { PermissionAnswer } from "../../src/sessions/permission-schema.ts";
import { client, errorText } from "./api.ts";
import { ErrorLine } from "./error-line.tsx";
import type { PendingPermission } from "./fleet.ts";
import { age, brief, pretty } from "./format.ts";

/**
 * One pending permission request, answerable in place: Allow, Allow always, Deny, or Allow with an edited
 * input (the tool then runs with what the person wrote), each with an optional message to the agent.
 */
export function PermissionCard(props: {
  request: PendingPermission;
  canAct: boolean;
  sessionLabel?: string;
}) {
  const { request } = props;
  const [message, setMessage] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [edited, setEdited] = useState(() => pretty(request.input));
  const answer = async (decision: "allow" | "deny", extra: Omit<PermissionAnswer, "decision"> = {}) => {
    setBusy(true);
    setError(undefined);
    try {
      const text = message.trim();
      await client.answerPermission(request.sessionId, request.id, {
        decision,
        ...extra,
        ...(text !== "" && { message: text }),
      });
    } catch (failure) {
      setError(errorText(failure));
      setBusy(false);
    }
  };
  const allowEdited = () => {
    const input = parseObject(edited);
    if (input) void answer("allow", { updatedInput: input });
    else setError('The edited input must be a JSON object, e.g. {"command": "ls"}.');
  };
  const messageId = `message-${request.id}`;
  const editId = `edit-${request.id}`;
  return (
    <article class="permission card" data-request={request.id} aria-label={`Permission: ${request.toolName}`}>
      <header>
        <strong>{request.toolName}</strong>
        {props.sessionLabel && <span> · {props.sessionLabel}</span>}
        <span class="muted"> · asked {age(request.createdAt)} ago</span>
      </header>
      <code class="input-brief">{brief(request.input, 200)}</code>
      <details>
        <summary>Full input</summary>
        <pre>{pretty(request.input)}</pre>
      </details>
      {props.canAct && (
        <div class="answer">
          <label for={messageId}>Message to the agent (optional)</label>
          <input
            id={messageId}
            value={message}
            onInput={(event) => setMessage(event.currentTarget.value)}
            placeholder="why, or what to do instead"
          />
          <div class="buttons">
            <button type="button" disabled={busy} onClick={() => void answer("allow")}>
              Allow
            </button>
            <button
              type="button"
              class="quiet"
              disabled={busy}
              title={`Allow ${request.toolName} for the rest of this session`}
              onClick={() => void answer("allow", { alwaysAllow: true })}
            >
              Allow always
            </button>
            <button type="button" class="danger" disabled={busy} onClick={() => void answer("deny")}>
              Deny
            </button>
          </div>
          <details class="edit">
            <summary>Edit the input, then allow</summary>
            <label for={editId}>Edited input (JSON)</label>
            <textarea
              id={editId}
              rows={Math.min(12, edited.split("\n").length + 1)}
              value={edited}
              onInput={(event) => setEdited(event.currentTarget.value)}
            />
            <div class="buttons">
              <button type="button" disabled={busy} onClick={allowEdited}>
                Allow with edited input
              </button>
            </div>
          </details>
        </div>
      )}
      <ErrorLine message={error} />
    </article>
  );
}

/** The edited text as a tool input (a JSON object), or undefined when it is not one. */
function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
