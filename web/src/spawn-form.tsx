import { useState } from "preact/hooks";
import type { SessionConfigInput } from "../../src/sessions/session-schema.ts";
import { client, errorText } from "./api.ts";
import { ErrorLine } from "./error-line.tsx";
import { sessionHref } from "./routes.ts";

type PermissionMode = NonNullable<SessionConfigInput["permissionMode"]>;
/** Checked against the API's schema by the compiler: a mode it does not know fails the typecheck. */
const MODES = [
  "default",
  "acceptEdits",
  "plan",
  "dontAsk",
  "bypassPermissions",
] as const satisfies readonly PermissionMode[];

/** Optional number fields: empty means "Baton's default". */
function numberField(value: string): number | undefined {
  return value.trim() === "" ? undefined : Number(value);
}

/**
 * Spawning from the page. The form leaves validation to the API (one schema, one set of messages) and shows
 * its error text as it is.
 */
export function SpawnForm() {
  const [form, setForm] = useState({
    prompt: "",
    workDir: "",
    name: "",
    maxBudgetUsd: "",
    maxTurns: "",
    permissionMode: "",
    allowedTools: "",
  });
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const field = (key: keyof typeof form) => ({
    id: `spawn-${key}`,
    name: key,
    value: form[key],
    onInput: (event: Event) => setForm({ ...form, [key]: (event.currentTarget as HTMLInputElement).value }),
  });
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const tools = form.allowedTools
      .split(",")
      .map((tool) => tool.trim())
      .filter(Boolean);
    const config: SessionConfigInput = {
      prompt: form.prompt,
      workDir: form.workDir.trim(),
      ...(form.name.trim() !== "" && { name: form.name.trim() }),
      ...(numberField(form.maxBudgetUsd) !== undefined && { maxBudgetUsd: numberField(form.maxBudgetUsd) }),
      ...(numberField(form.maxTurns) !== undefined && { maxTurns: numberField(form.maxTurns) }),
      ...(form.permissionMode !== "" && { permissionMode: form.permissionMode as PermissionMode }),
      ...(tools.length > 0 && { allowedTools: tools }),
    };
    try {
      const session = await client.spawn(config);
      location.hash = sessionHref(session.id);
    } catch (failure) {
      setError(errorText(failure));
      setBusy(false);
    }
  };
  return (
    <main>
      <h1>Spawn a session</h1>
      <form class="card spawn" onSubmit={submit}>
        <label for="spawn-prompt">Prompt</label>
        <textarea {...field("prompt")} rows={5} />
        <label for="spawn-workDir">Working folder (absolute path)</label>
        <input {...field("workDir")} placeholder="/home/me/project" />
        <label for="spawn-name">Name (optional)</label>
        <input {...field("name")} placeholder="fix-login-bug" />
        <div class="row">
          <div>
            <label for="spawn-maxBudgetUsd">Budget, USD (optional)</label>
            <input {...field("maxBudgetUsd")} inputMode="decimal" />
          </div>
          <div>
            <label for="spawn-maxTurns">Max turns (optional)</label>
            <input {...field("maxTurns")} inputMode="numeric" />
          </div>
        </div>
        <label for="spawn-permissionMode">Permission mode</label>
        <select {...field("permissionMode")} onChange={field("permissionMode").onInput}>
          <option value="">Baton's default</option>
          {MODES.map((mode) => (
            <option key={mode} value={mode}>
              {mode}
            </option>
          ))}
        </select>
        <label for="spawn-allowedTools">Pre-approved tools (comma-separated, optional)</label>
        <input {...field("allowedTools")} placeholder="Read, Bash" />
        <button type="submit" disabled={busy}>
          Spawn
        </button>
        <ErrorLine message={error} />
      </form>
    </main>
  );
}
