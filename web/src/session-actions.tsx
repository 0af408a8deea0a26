import { useState } from "preact/hooks";
import type { DeliveryMode, Session } from "../../src/sessions/session-schema.ts";
import { client, errorText } from "./api.ts";
import { ErrorLine } from "./error-line.tsx";

const MODES = ["queue", "steer", "interrupt"] as const satisfies readonly DeliveryMode[];

/** A follow-up box with its delivery mode, Interrupt, and Kill (which asks first). */
export function SessionActions(props: { session: Session }) {
  const { session } = props;
  const [text, setText] = useState("");
  const [mode, setMode] = useState<DeliveryMode>("queue");
  const [confirmKill, setConfirmKill] = useState(false);
  const [note, setNote] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const ended = session.status === "killed";
  const act = async (what: () => Promise<unknown>, done: string) => {
    setError(undefined);
    setNote(undefined);
    try {
      await what();
      setNote(done);
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  const send = async (event: Event) => {
    event.preventDefault();
    await act(() => client.send(session.id, { text, mode }), "Message sent.");
    setText("");
  };
  return (
    <section class="actions card" aria-label="Actions">
      <form onSubmit={send}>
        <label for="follow-up">Follow-up message</label>
        <textarea id="follow-up" rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <div class="buttons">
          <label>
            Delivery{" "}
            <select value={mode} onChange={(e) => setMode(e.currentTarget.value as DeliveryMode)}>
              {MODES.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={ended || text.trim() === ""}>
            Send
          </button>
          <button
            type="button"
            disabled={ended}
            onClick={() => void act(() => client.interrupt(session.id), "Interrupted.")}
          >
            Interrupt
          </button>
          {!confirmKill ? (
            <button type="button" class="danger" disabled={ended} onClick={() => setConfirmKill(true)}>
              Kill…
            </button>
          ) : (
            <fieldset class="confirm">
              <legend class="sr-only">Confirm kill</legend>
              Kill {session.name ?? session.id} for good?{" "}
              <button
                type="button"
                class="danger"
                onClick={() => {
                  setConfirmKill(false);
                  void act(() => client.kill(session.id), "Killed.");
                }}
              >
                Yes, kill
              </button>
              <button type="button" class="quiet" onClick={() => setConfirmKill(false)}>
                Cancel
              </button>
            </fieldset>
          )}
        </div>
      </form>
      {note && <p class="muted">{note}</p>}
      <ErrorLine message={error} />
    </section>
  );
}
