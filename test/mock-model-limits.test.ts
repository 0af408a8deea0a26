// The scripted model's limit directives: @limit (429 until a reset, with the real API's headers), @revoked
// (401 for one credential) and @header, as pure step decisions and over HTTP.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decideAnswer } from "../src/mock-model/answer.ts";
import type { MessagesRequest } from "../src/mock-model/conversation.ts";
import { parseScript, startMockModel } from "../src/mock-model/index.ts";

function request(text: string): MessagesRequest {
  return {
    model: "claude-test",
    messages: [{ role: "user", content: text }],
    tools: [{ name: "Bash" }],
    stream: true,
  };
}

describe("@limit, @revoked and @header", () => {
  test("parse, with problems for bad arguments", () => {
    const script = parseScript("@limit 3\n@limit 5 usage\n@revoked key-1\n@header x-a 1\n@say hi");
    assert.deepEqual(script.problems, []);
    assert.deepEqual(
      script.steps.map((step) => step.action.kind),
      ["limit", "limit", "revoked", "say"],
    );
    assert.deepEqual(script.steps[3]?.headers, { "x-a": "1" });
    assert.equal(parseScript("@limit soon\n@limit 3 weekly\n@revoked\n@header x").problems.length, 4);
  });

  test("@limit answers 429 with retry-after and reset headers until the reset, then the next step", () => {
    const limits = new Map<string, number>();
    const first = decideAnswer(request("@limit 2\n@say after"), "s1", new Map(), limits);
    assert.equal(first.answer.kind, "error");
    assert.ok(first.answer.kind === "error" && first.answer.status === 429);
    const headers = first.answer.kind === "error" ? (first.answer.headers ?? {}) : {};
    assert.equal(headers["retry-after"], "2");
    assert.ok(Date.parse(headers["anthropic-ratelimit-requests-reset"] ?? "") > Date.now());
    // The clock started with the first request: moving it past the reset lets the script go on.
    for (const key of limits.keys()) limits.set(key, Date.now() - 1);
    const after = decideAnswer(request("@limit 2\n@say after"), "s1", new Map(), limits);
    assert.equal(after.answer.kind === "message" && after.answer.message.content[0]?.type, "text");
    assert.equal(after.step, 1);
  });

  test("@limit usage sends the subscription headers; @revoked refuses only its credential", () => {
    const usage = decideAnswer(request("@limit 60 usage"), "s2");
    const headers = usage.answer.kind === "error" ? (usage.answer.headers ?? {}) : {};
    assert.equal(headers["anthropic-ratelimit-unified-status"], "rejected");
    assert.ok(Number(headers["anthropic-ratelimit-unified-reset"]) * 1000 > Date.now());
    const revoked = decideAnswer(request("@revoked old\n@say fine"), "s3", new Map(), new Map(), "old");
    assert.ok(revoked.answer.kind === "error" && revoked.answer.status === 401);
    const other = decideAnswer(request("@revoked old\n@say fine"), "s3", new Map(), new Map(), "new");
    assert.equal(other.step, 1);
  });

  test("over HTTP the headers arrive with the 429, and @header shapes any answer", async () => {
    const mock = await startMockModel();
    try {
      const post = (text: string) =>
        fetch(`${mock.url}/v1/messages`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": "k", "x-claude-code-session-id": "h1" },
          body: JSON.stringify({ ...request(text), stream: false }),
        });
      const limited = await post("@limit 30\n@say later");
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get("retry-after"), "30");
      assert.equal(((await limited.json()) as { error: { type: string } }).error.type, "rate_limit_error");
      const custom = await post("@header retry-after 7\n@error 429");
      assert.equal(custom.status, 429);
      assert.equal(custom.headers.get("retry-after"), "7");
      await custom.body?.cancel();
    } finally {
      await mock.stop();
    }
  });
});
