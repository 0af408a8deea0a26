import { useState } from "preact/hooks";
import { client, errorText } from "./api.ts";
import { ErrorLine } from "./error-line.tsx";
import type { PendingPermission } from "./fleet.ts";
import { age, brief, pretty } from "./format.ts";

/** One pending permission request, answerable in place (Allow, Allow always, Deny; an optional message). */
export function PermissionCard(props: {
  request: PendingPermission;
  canAct: boolean;
  sessionLabel?: string;
}) {
  const { request } = props;
  const [message, setMessage] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const answer = async (decision: "allow" | "deny", alwaysAllow = false) => {
    setBusy(true);
    setError(undefined);
    try {
      const text = message.trim();
      await client.answerPermission(request.sessionId, request.id, {
        decision,
        ...(alwaysAllow && { alwaysAllow }),
        ...(text !== "" && { message: text }),
      });
    } catch (failure) {
      setError(errorText(failure));
      setBusy(false);
    }
  };
  const messageId = `message-${request.id}`;
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
              onClick={() => void answer("allow", true)}
            >
              Allow always
            </button>
            <button type="button" class="danger" disabled={busy} onClick={() => void answer("deny")}>
              Deny
            </button>
          </div>
        </div>
      )}
      <ErrorLine message={error} />
    </article>
  );
}
