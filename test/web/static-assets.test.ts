import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import Fastify from "fastify";
import { DEFAULT_DASHBOARD_DIR, registerDashboard } from "../../src/api/routes/dashboard-routes.ts";
import { startHarness } from "../support/harness.ts";
import { runCli } from "../support/run-cli.ts";

test("Baton serves the built dashboard without a token: index.html never cached, hashed assets immutable", async (t) => {
  const h = await startHarness(t);
  const page = await fetch(`${h.url}/`);
  assert.equal(page.status, 200, "npm install built dist/web (the prepare script)");
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  assert.equal(page.headers.get("cache-control"), "no-cache");
  assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  const html = await page.text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1] as string);
  assert.ok(
    assets.some((path) => path.endsWith(".js")) && assets.some((path) => path.endsWith(".css")),
    html,
  );
  for (const path of assets) {
    const asset = await fetch(`${h.url}${path}`);
    assert.equal(asset.status, 200, path);
    assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable", path);
  }
  const missing = await fetch(`${h.url}/assets/nothing-here.js`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, "ROUTE_NOT_FOUND");
  const escaping = await fetch(`${h.url}/assets/..%2f..%2fpackage.json`);
  assert.notEqual(escaping.status, 200, "no path escapes out of the assets folder");
  assert.ok(readdirSync(join(DEFAULT_DASHBOARD_DIR, "assets")).length >= 2);
});

test("without a build, GET / says how to build the dashboard instead of a 404", async (t) => {
  const empty = mkdtempSync(join(tmpdir(), "baton-no-dashboard-"));
  const app = Fastify();
  t.after(async () => {
    await app.close();
    rmSync(empty, { recursive: true, force: true });
  });
  await registerDashboard(app, empty);
  const response = await app.inject({ method: "GET", url: "/" });
  assert.equal(response.statusCode, 503);
  assert.match(response.headers["content-type"] as string, /^text\/plain/);
  assert.match(response.body, /npm install/);
  assert.match(response.body, /npm run build:web/);
});

test("baton open prints a one-time login link as its only line; it leads to a cookie and works once", async (t) => {
  const h = await startHarness(t);
  const env = { BATON_URL: h.url, BATON_TOKEN: h.token };
  const plain = await runCli(["open"], env);
  assert.equal(plain.code, 0, plain.stderr);
  const lines = plain.stdout.split("\n").filter(Boolean);
  assert.equal(lines.length, 1, plain.stdout);
  const url = lines[0] as string;
  assert.ok(url.startsWith(`${h.url}/login?code=`), url);
  assert.ok(!url.includes(h.token), "the link holds no token");
  const opened = await fetch(url, { redirect: "manual" });
  assert.equal(opened.status, 303);
  assert.equal(opened.headers.get("location"), "/");
  const cookie = (opened.headers.get("set-cookie") ?? "").split(";")[0] as string;
  const who = await fetch(`${h.url}/whoami`, { headers: { cookie } });
  assert.equal(((await who.json()) as { role: string }).role, "admin");
  assert.equal((await fetch(url, { redirect: "manual" })).status, 401, "the link works once");

  const json = await runCli(["open", "--json"], env);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { url: string };
  assert.deepEqual(Object.keys(parsed), ["url"]);
  assert.ok(parsed.url.startsWith(`${h.url}/login?code=`));

  const refused = await runCli(["open"], { BATON_URL: h.url, BATON_TOKEN: "not-a-known-token" });
  assert.notEqual(refused.code, 0);
  assert.equal(refused.stdout, "");
  assert.match(refused.stderr, /UNAUTHENTICATED/);
});
