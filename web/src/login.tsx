import { useState } from "preact/hooks";
import { client, errorText } from "./api.ts";
import { ErrorLine } from "./error-line.tsx";

/**
 * Logging in: the pasted token goes to `POST /login` once and is forgotten; Baton answers with an HttpOnly
 * cookie the page's scripts cannot read. `baton open` prints a one-time link that does the same.
 */
export function Login(props: { onLoggedIn: () => void; notice?: string | undefined }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await client.logIn(token.trim());
      setToken("");
      props.onLoggedIn();
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <h1>Baton · Mission Control</h1>
      {props.notice && <p class="notice">{props.notice}</p>}
      <form onSubmit={submit} class="card">
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        <button type="submit" disabled={busy || token.trim() === ""}>
          Log in
        </button>
        <ErrorLine message={error} />
      </form>
      <p class="hint">
        Or run <code>baton open</code> on Baton's machine and open the link it prints (it works once, within a
        minute). The token is sent once and kept by nobody but Baton: this page holds only an HttpOnly cookie.
      </p>
    </main>
  );
}
