import assert from "node:assert/strict";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";

const VIEWER = "login-viewer-token-0000000000000";

/** The `baton_login=…` pair from a Set-Cookie header, and its attributes. */
function loginCookie(response: Response): { pair: string; attributes: string } {
  const header = response.headers.get("set-cookie") ?? "";
  const [pair = "", ...attributes] = header.split(";").map((part) => part.trim());
  assert.match(pair, /^baton_login=[\w-]{40,}$/, `a login cookie in ${header}`);
  return { pair, attributes: attributes.join("; ") };
}

test("a browser logs in with a token or a one-time link and gets an HttpOnly, SameSite=Strict cookie", async (t) => {
  const h = await startHarness(t, { tokens: [{ name: "vera", token: VIEWER, role: "viewer" }] });
  const login = (token: string) =>
    fetch(`${h.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: h.url },
      body: JSON.stringify({ token }),
    });

  assert.equal((await login("not-a-token-anyone-knows")).status, 401, "a wrong token cannot log in");
  const viewer = await login(VIEWER);
  assert.equal(viewer.status, 204);
  const { pair, attributes } = loginCookie(viewer);
  assert.match(attributes, /HttpOnly/);
  assert.match(attributes, /SameSite=Strict/);
  assert.match(attributes, /Path=\//);
  const whoami = await fetch(`${h.url}/whoami`, { headers: { cookie: pair } });
  assert.deepEqual(await whoami.json(), { principal: "viewer:vera", role: "viewer" });
  const change = await fetch(`${h.url}/events`, {
    method: "POST",
    headers: { cookie: pair, origin: h.url, "content-type": "application/json" },
    body: JSON.stringify({ topic: "login.test", data: {} }),
  });
  assert.equal(change.status, 403, "the cookie carries the viewer's rights, no more");

  // `baton open`'s link: made with a bearer token, usable once, and it leads to a cookie.
  const made = await fetch(`${h.url}/login-links`, {
    method: "POST",
    headers: { authorization: `Bearer ${h.token}` },
  });
  assert.equal(made.status, 201);
  const { url } = (await made.json()) as { url: string };
  assert.ok(url.startsWith(`${h.url}/login?code=`), url);
  assert.doesNotMatch(url, new RegExp(h.token), "the link holds no token");
  const opened = await fetch(url, { redirect: "manual" });
  assert.equal(opened.status, 303);
  assert.equal(opened.headers.get("location"), "/");
  const admin = loginCookie(opened).pair;
  assert.equal((await fetch(url, { redirect: "manual" })).status, 401, "a link works once");

  const noOrigin = await fetch(`${h.url}/events`, {
    method: "POST",
    headers: { cookie: admin, "content-type": "application/json" },
    body: JSON.stringify({ topic: "login.test", data: {} }),
  });
  assert.equal(noOrigin.status, 403, "a change with the cookie must say where it comes from");
  const foreign = await fetch(`${h.url}/events`, {
    method: "POST",
    headers: { cookie: admin, origin: "http://evil.example", "content-type": "application/json" },
    body: JSON.stringify({ topic: "login.test", data: {} }),
  });
  assert.equal(foreign.status, 403, "nor from another site");
  const sameSite = await fetch(`${h.url}/events`, {
    method: "POST",
    headers: { cookie: admin, origin: h.url, "content-type": "application/json" },
    body: JSON.stringify({ topic: "login.test", data: {} }),
  });
  assert.equal(sameSite.status, 201);

  const out = await fetch(`${h.url}/logout`, { method: "POST", headers: { cookie: admin, origin: h.url } });
  assert.equal(out.status, 204);
  assert.equal((await fetch(`${h.url}/whoami`, { headers: { cookie: admin } })).status, 401, "logged out");
});
