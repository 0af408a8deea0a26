// The scripted model server: pure tests of the script language and step selection, raw HTTP tests, and
// end-to-end turns of the real `claude` binary (through the Agent SDK) against it. Nothing is mocked.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type Options,
  query,
  type SDKMessage,
  type SDKResultMessage,
  type SDKUserMessage,
} from "@anthropic-ai/claude-agent-sdk";
import { type Decision, decideAnswer, TITLE_ANSWER } from "../src/mock-model/answer.ts";
import { findInstruction, findNextStep, type MessagesRequest } from "../src/mock-model/conversation.ts";
import { type MockModel, parseScript, runMockModelCommand, startMockModel } from "../src/mock-model/index.ts";
import { splitIntoChunks } from "../src/mock-model/sse.ts";

const REMINDER = { type: "text", text: "<system-reminder>\nAttribution …\n</system-reminder>\n" };
const ENVIRONMENT = {
  role: "system",
  content: "# Environment\n - Primary working directory: /work/project\n",
};

function userText(text: string): MessagesRequest["messages"][number] {
  return { role: "user", content: [REMINDER, { type: "text", text }] };
}

function request(messages: MessagesRequest["messages"]): MessagesRequest {
  return { model: "claude-test", messages, tools: [{ name: "Bash" }], stream: true };
}

describe("parseScript", () => {
  test("turns each step directive into one step, ignoring prose lines", () => {
    const script = parseScript(
      [
        "Please do this:",
        "  @bash echo hi > out.txt",
        "@write notes/a.txt line1\\nline2",
        '@tool mcp__baton__spawn {"prompt":"x"}',
        "@error 529",
        "@hang",
        "@say all done",
      ].join("\n"),
      { cwd: "/work/project" },
    );
    assert.deepEqual(script.problems, []);
    assert.deepEqual(
      script.steps.map((step) => step.action),
      [
        {
          kind: "tool_use",
          name: "Bash",
          input: { command: "echo hi > out.txt", description: "scripted step" },
        },
        {
          kind: "tool_use",
          name: "Write",
          input: { file_path: "/work/project/notes/a.txt", content: "line1\nline2" },
        },
        { kind: "tool_use", name: "mcp__baton__spawn", input: { prompt: "x" } },
        { kind: "error", status: 529, errorType: "overloaded_error", message: "Scripted error 529" },
        { kind: "hang" },
        { kind: "say", text: "all done" },
      ],
    );
  });

  test("keeps absolute @write paths, and relative ones when the cwd is unknown", () => {
    const [absolute, relative] = parseScript("@write /tmp/x.txt a\n@write y.txt").steps;
    assert.deepEqual(absolute?.action, {
      kind: "tool_use",
      name: "Write",
      input: { file_path: "/tmp/x.txt", content: "a" },
    });
    assert.deepEqual(relative?.action, {
      kind: "tool_use",
      name: "Write",
      input: { file_path: "y.txt", content: "" },
    });
  });

  test("modifiers apply to the next step only; trailing ones to the final answer", () => {
    const script = parseScript("@delay 50\n@usage 2000000 10\n@bash true\n@bash false\n@usage 7 8");
    assert.equal(script.steps[0]?.delayMs, 50);
    assert.deepEqual(script.steps[0]?.usage, { inputTokens: 2_000_000, outputTokens: 10 });
    assert.equal(script.steps[1]?.delayMs, undefined);
    assert.equal(script.steps[1]?.usage, undefined);
    assert.deepEqual(script.finalModifiers, { usage: { inputTokens: 7, outputTokens: 8 } });
  });

  test("@error takes an explicit type and message, or defaults by status", () => {
    const steps = parseScript("@error 500 api_error boom bang\n@error 401\n@error 502\n@error 418").steps;
    assert.deepEqual(
      steps.map((step) => step.action),
      [
        { kind: "error", status: 500, errorType: "api_error", message: "boom bang" },
        { kind: "error", status: 401, errorType: "authentication_error", message: "Scripted error 401" },
        { kind: "error", status: 502, errorType: "api_error", message: "Scripted error 502" },
        { kind: "error", status: 418, errorType: "invalid_request_error", message: "Scripted error 418" },
      ],
    );
  });

  test("reports bad directives with their line numbers", () => {
    const script = parseScript(
      "@bash\n@frobnicate\n@tool Foo [1]\n@tool Foo {oops\n@error 200\n@usage 5\n@delay soon",
    );
    assert.equal(script.problems.length, 7);
    assert.match(script.problems[0] ?? "", /^line 1: @bash needs a command/);
    assert.match(script.problems[1] ?? "", /^line 2: unknown directive @frobnicate/);
    assert.match(script.problems[2] ?? "", /must be a JSON object/);
    assert.match(script.problems[3] ?? "", /not valid JSON/);
  });
});

describe("step selection", () => {
  test("the instruction is the latest human text, not reminders, tool results or the environment", () => {
    const messages: MessagesRequest["messages"] = [
      userText("@bash one"),
      ENVIRONMENT,
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_scripted_0_aaa", name: "Bash", input: {} }],
      },
      {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "toolu_scripted_0_aaa", content: "ok" }, REMINDER],
      },
    ];
    assert.deepEqual(findInstruction(messages), { text: "@bash one", messageIndex: 0 });
    assert.equal(findNextStep(messages, findInstruction(messages)), 1);
  });

  test("a later mid-turn message becomes the instruction and restarts the steps", () => {
    const messages: MessagesRequest["messages"] = [
      userText("@bash one\n@bash two"),
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_scripted_0_aaa", name: "Bash", input: {} }],
      },
      {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "toolu_scripted_0_aaa", content: "ok" }],
      },
      {
        role: "system",
        content:
          "The user sent a new message while you were working:\n@say switched\n\nThis is how Claude Code surfaces messages the user sends mid-turn.",
      },
    ];
    const instruction = findInstruction(messages);
    assert.deepEqual(instruction, { text: "@say switched", messageIndex: 3 });
    assert.equal(findNextStep(messages, instruction), 0);
  });

  test("after Baton's restart note the interrupted script continues; a note with directives is a new script", () => {
    const note =
      "[Baton note: the session manager restarted while you were working, so your last step may not have finished. Check the state of your work and continue the task where you left off.]";
    const messages: MessagesRequest["messages"] = [
      userText("@bash slow\n@bash next\n@say finished"),
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_scripted_0_aaa", name: "Bash", input: {} }],
      },
      {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "toolu_scripted_0_aaa", content: "interrupted" }],
      },
      userText(note),
    ];
    const instruction = findInstruction(messages);
    assert.deepEqual(instruction, { text: "@bash slow\n@bash next\n@say finished", messageIndex: 0 });
    assert.equal(findNextStep(messages, instruction), 1, "the interrupted step counts as taken");
    const withDirectives = [...messages.slice(0, 3), userText(`${note}\n@say fresh`)];
    assert.equal(findInstruction(withDirectives)?.messageIndex, 3);
  });

  test("ignores tool ids that are not scripted", () => {
    const messages: MessagesRequest["messages"] = [
      userText("@bash one"),
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_01ABC", name: "Bash", input: {} }] },
    ];
    assert.equal(findNextStep(messages, findInstruction(messages)), 0);
  });

  test("a turn with N tool steps takes exactly N+1 requests, with deterministic ids", () => {
    const runTurn = (): Decision[] => {
      const messages: MessagesRequest["messages"] = [
        userText("@bash a\n@write b.txt x\n@tool Read {}"),
        ENVIRONMENT,
      ];
      const decisions: Decision[] = [];
      for (let guard = 0; guard < 10; guard++) {
        const decision = decideAnswer(request(messages));
        decisions.push(decision);
        if (decision.answer.kind !== "message" || decision.answer.message.stopReason === "end_turn") break;
        const block = decision.answer.message.content[0];
        assert.equal(block?.type, "tool_use");
        messages.push({ role: "assistant", content: decision.answer.message.content });
        messages.push({
          role: "user",
          content: [{ type: "tool_result", tool_use_id: block.id, content: "ok" }],
        });
      }
      return decisions;
    };
    const decisions = runTurn();
    assert.deepEqual(
      decisions.map((d) => [d.step, d.summary]),
      [
        [0, "tool_use Bash"],
        [1, "tool_use Write"],
        [2, "tool_use Read"],
        [3, "done"],
      ],
    );
    const write = decisions[1]?.answer;
    assert.equal(write?.kind === "message" && write.message.content[0]?.type === "tool_use", true);
    assert.deepEqual(JSON.stringify(runTurn()), JSON.stringify(decisions));
  });

  test("ids are stable for one session and differ between sessions", () => {
    const toolIdFor = (sessionId: string): string => {
      const { answer } = decideAnswer(request([userText("@bash ls")]), sessionId);
      const block = answer.kind === "message" ? answer.message.content[0] : undefined;
      return block?.type === "tool_use" ? block.id : "";
    };
    assert.match(toolIdFor("a"), /^toolu_scripted_0_[0-9a-f]{12}$/);
    assert.equal(toolIdFor("a"), toolIdFor("a"));
    assert.notEqual(toolIdFor("a"), toolIdFor("b"));
  });

  test("@hang <n> hangs the first n requests reaching its step; later ones get the next step", () => {
    assert.deepEqual(parseScript("@hang 2").steps, [{ action: { kind: "hang", times: 2 } }]);
    assert.match(parseScript("@hang never").problems[0] ?? "", /@hang takes a count/);
    const hangs = new Map<string, number>();
    const messages = [userText("@hang 2\n@say back")];
    const summaries = [1, 2, 3].map(() => decideAnswer(request(messages), "s1", hangs).summary);
    assert.deepEqual(summaries, ["hang", "hang", "say"]);
    assert.equal(decideAnswer(request(messages), "s2", hangs).summary, "hang", "counted per session");
    assert.equal(
      decideAnswer(request([userText("@hang")]), "s1", hangs).summary,
      "hang",
      "plain @hang: always",
    );
  });

  test("a request without tools gets the title answer; bad scripts get a Script error text", () => {
    const title = decideAnswer({ ...request([userText("@bash x")]), tools: undefined });
    assert.equal(title.summary, "title");
    assert.deepEqual(title.answer.kind === "message" && title.answer.message.content, [
      { type: "text", text: TITLE_ANSWER },
    ]);
    const broken = decideAnswer(request([userText("@nope")]));
    assert.equal(broken.summary, "script error");
    assert.match(JSON.stringify(broken.answer), /Script error: line 1: unknown directive @nope/);
  });

  test("splitIntoChunks reassembles exactly and never splits a surrogate pair", () => {
    const text = "héllo 👋 wörld";
    const chunks = splitIntoChunks(text, 3);
    assert.equal(chunks.length, 3);
    assert.equal(chunks.join(""), text);
    assert.ok(chunks.every((chunk) => chunk.isWellFormed()));
    assert.deepEqual(splitIntoChunks("", 3), [""]);
  });
});

function countTcpSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === "TCPSocketWrap").length;
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function postMessages(mock: MockModel, body: unknown): Promise<Response> {
  return fetch(`${mock.url}/v1/messages?beta=true`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-claude-code-session-id": "raw-session",
      connection: "close",
    },
    body: JSON.stringify(body),
  });
}

function parseSseEvents(text: string): Array<Record<string, unknown>> {
  return text
    .split("\n\n")
    .filter((frame) => frame.trim() !== "")
    .map((frame) => {
      const data = frame.split("\n").find((line) => line.startsWith("data: "));
      return JSON.parse(data?.slice("data: ".length) ?? "null") as Record<string, unknown>;
    });
}

describe("HTTP surface", () => {
  let mock: MockModel;
  const logLines: string[] = [];
  before(async () => {
    mock = await startMockModel({ log: (line) => logLines.push(line) });
  });
  after(() => mock.stop());

  test("streams a tool_use whose chunked input JSON reassembles, and logs the request", async () => {
    const response = await postMessages(mock, request([userText('@tool Demo {"a":"b","n":[1,2,3]}')]));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const events = parseSseEvents(await response.text());
    assert.deepEqual(
      events.map((event) => event.type),
      [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
      ],
    );
    const json = events
      .filter((event) => event.type === "content_block_delta")
      .map((event) => (event.delta as { partial_json: string }).partial_json)
      .join("");
    assert.deepEqual(JSON.parse(json), { a: "b", n: [1, 2, 3] });
    const recorded = await mock.waitForRequest((r) => r.sessionId === "raw-session");
    assert.equal(recorded.step, 0);
    assert.equal(recorded.path, "/v1/messages");
    assert.match(logLines.at(-1) ?? "", /"answer":"tool_use Demo"/);
  });

  test("answers stream:false with one JSON message", async () => {
    const response = await postMessages(mock, { ...request([userText("@say plain")]), stream: false });
    const body = (await response.json()) as { content: unknown; stop_reason: string };
    assert.deepEqual(body.content, [{ type: "text", text: "plain" }]);
    assert.equal(body.stop_reason, "end_turn");
  });

  test("scripted errors, bad bodies and unknown routes use the API error shape", async () => {
    const scripted = await postMessages(mock, request([userText("@error 429")]));
    assert.equal(scripted.status, 429);
    assert.deepEqual(await scripted.json(), {
      type: "error",
      error: { type: "rate_limit_error", message: "Scripted error 429" },
    });
    const invalid = await postMessages(mock, { messages: "nope" });
    assert.equal(invalid.status, 400);
    assert.match(JSON.stringify(await invalid.json()), /invalid_request_error.*messages/);
    const missing = await fetch(`${mock.url}/v1/models`, { headers: { connection: "close" } });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { type: string } }).error.type, "not_found_error");
  });

  test("answers /api/hello and count_tokens", async () => {
    const hello = await fetch(`${mock.url}/api/hello`, { method: "HEAD", headers: { connection: "close" } });
    assert.equal(hello.status, 200);
    const counted = await fetch(`${mock.url}/v1/messages/count_tokens`, {
      method: "POST",
      headers: { connection: "close" },
      body: JSON.stringify(request([userText("hello")])),
    });
    const { input_tokens } = (await counted.json()) as { input_tokens: number };
    assert.ok(input_tokens > 0);
  });

  test("waitForRequest resolves on a future match and rejects clearly at its deadline", async () => {
    const future = mock.waitForRequest((r) => r.instruction === "@say later", 5_000);
    await postMessages(mock, request([userText("@say later")])).then((r) => r.text());
    assert.equal((await future).instruction, "@say later");
    await assert.rejects(
      mock.waitForRequest(() => false, 50),
      /no matching request within 50 ms/,
    );
  });
});

test("runMockModelCommand prints where it listens and a line per request, and stops on abort", async () => {
  const lines: string[] = [];
  const stop = new AbortController();
  const running = runMockModelCommand({ port: 0, print: (line) => lines.push(line), signal: stop.signal });
  await waitUntil(() => lines.length > 0, 5_000, "the listening line");
  const url = /^mock-model listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(lines[0] ?? "")?.[1];
  assert.ok(url, `unexpected first line ${lines[0]}`);
  await fetch(`${url}/v1/messages`, {
    method: "POST",
    headers: { "x-claude-code-session-id": "cli-session", connection: "close" },
    body: JSON.stringify(request([userText("@bash ls")])),
  }).then((response) => response.text());
  assert.equal(lines[1], "#1 session cli-session step 0: tool_use Bash");
  stop.abort();
  await running;
});

interface TurnOutcome {
  messages: SDKMessage[];
  result: SDKResultMessage | undefined;
  thrown: unknown;
}

/** One temp workDir, config dir, home and TMPDIR per test, so CLI state never leaks between tests. */
describe("end-to-end with the real claude binary", () => {
  let mock: MockModel;
  let root: string;
  let testIndex = 0;
  before(async () => {
    mock = await startMockModel();
    root = await mkdtemp(join(tmpdir(), "baton-mock-model-"));
  });
  after(async () => {
    await mock.stop();
    await rm(root, { recursive: true, force: true });
  });

  async function makeSessionDirs(): Promise<{ workDir: string; env: Record<string, string> }> {
    const base = join(root, `t${++testIndex}`);
    const [workDir, home, configDir, tempDir] = ["work", "home", "config", "tmp"].map((name) =>
      join(base, name),
    );
    for (const dir of [workDir, home, configDir, tempDir]) await mkdir(dir ?? base, { recursive: true });
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: home ?? "",
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: "test-key",
      CLAUDE_CONFIG_DIR: configDir ?? "",
      TMPDIR: tempDir ?? "",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      CLAUDE_CODE_MAX_RETRIES: "0",
    };
    return { workDir: workDir ?? base, env };
  }

  async function runTurn(
    prompt: string,
    extra: Partial<Options> = {},
  ): Promise<TurnOutcome & { workDir: string }> {
    const { workDir, env } = await makeSessionDirs();
    const abortController = extra.abortController ?? new AbortController();
    const deadline = setTimeout(() => abortController.abort(), 30_000);
    const outcome: TurnOutcome = { messages: [], result: undefined, thrown: undefined };
    const options: Options = {
      cwd: workDir,
      env,
      permissionMode: "acceptEdits",
      allowedTools: ["Bash", "Write"],
      ...extra,
      abortController,
    };
    try {
      for await (const message of query({ prompt, options })) {
        outcome.messages.push(message);
        if (message.type === "result") outcome.result = message;
      }
    } catch (error) {
      outcome.thrown = error;
    } finally {
      clearTimeout(deadline);
    }
    return { ...outcome, workDir };
  }

  const requestsOf = (sessionId: string | undefined) =>
    mock.requests.filter((r) => r.sessionId === sessionId);

  test("@bash then @say: the command runs and the turn ends with the text", async () => {
    const turn = await runTurn("@bash echo hi > out.txt\n@say finished");
    assert.equal(turn.thrown, undefined);
    assert.equal(turn.result?.subtype, "success");
    assert.equal(turn.result?.is_error, false);
    assert.equal(turn.result?.subtype === "success" && turn.result.result, "finished");
    assert.equal(await readFile(join(turn.workDir, "out.txt"), "utf8"), "hi\n");
    const requests = requestsOf(turn.result?.session_id);
    assert.deepEqual(
      requests.map((r) => r.step),
      [0, 1],
    );
  });

  test("@write creates the file relative to the session cwd", async () => {
    const turn = await runTurn("@write notes.md # Title\\nbody");
    assert.equal(turn.result?.subtype === "success" && turn.result.result, "Done.");
    assert.equal(await readFile(join(turn.workDir, "notes.md"), "utf8"), "# Title\nbody");
  });

  test("@usage sets the reported tokens and so the cost", async () => {
    const turn = await runTurn("@usage 2000000 10\n@say pricey");
    // $4/M input and $20/M output for a model the CLI does not know.
    assert.ok(
      Math.abs((turn.result?.total_cost_usd ?? 0) - 8.0002) < 1e-6,
      `cost ${turn.result?.total_cost_usd}`,
    );
  });

  test("@error ends the turn with an error result (and the iterator throws after it)", async () => {
    const turn = await runTurn("@error 500 api_error boom");
    assert.equal(turn.result?.is_error, true);
    assert.match(String(turn.thrown), /error result/);
    assert.equal(requestsOf(turn.result?.session_id).length, 1);
  });

  test("a message sent mid-turn takes over the running turn with its own directives", async () => {
    const { workDir, env } = await makeSessionDirs();
    const userMessage = (text: string): SDKUserMessage => ({
      type: "user",
      message: { role: "user", content: text },
      parent_tool_use_id: null,
      session_id: "",
    });
    let toolStarted: () => void = () => undefined;
    const toolStartedSignal = new Promise<void>((resolve) => {
      toolStarted = resolve;
    });
    let turnEnded: () => void = () => undefined;
    const turnEndedSignal = new Promise<void>((resolve) => {
      turnEnded = resolve;
    });
    async function* prompts(): AsyncGenerator<SDKUserMessage> {
      yield userMessage("@bash sleep 1\n@say first");
      await toolStartedSignal; // the Bash step is running now, so the next message arrives mid-turn
      yield userMessage("@write later.txt a\\nb\n@say second");
      await turnEndedSignal;
    }
    const abortController = new AbortController();
    const deadline = setTimeout(() => abortController.abort(), 30_000);
    const results: SDKResultMessage[] = [];
    try {
      for await (const message of query({
        prompt: prompts(),
        options: {
          cwd: workDir,
          env,
          abortController,
          permissionMode: "acceptEdits",
          allowedTools: ["Bash", "Write"],
        },
      })) {
        if (message.type === "assistant" && message.message.content.some((b) => b.type === "tool_use"))
          toolStarted();
        if (message.type !== "result") continue;
        results.push(message);
        turnEnded();
      }
    } finally {
      clearTimeout(deadline);
      turnEnded();
    }
    assert.deepEqual(
      results.map((r) => r.subtype === "success" && r.result),
      ["second"],
    );
    assert.equal(await readFile(join(workDir, "later.txt"), "utf8"), "a\nb");
    assert.deepEqual(
      requestsOf(results[0]?.session_id).map((r) => [r.step, r.instruction]),
      [
        [0, "@bash sleep 1\n@say first"],
        [0, "@write later.txt a\\nb\n@say second"],
        [1, "@write later.txt a\\nb\n@say second"],
      ],
    );
  });

  test("@hang: aborting the client frees the connection and stop() stays prompt", async () => {
    const hangMock = await startMockModel();
    const baseline = countTcpSockets();
    const abortController = new AbortController();
    const { workDir, env } = await makeSessionDirs();
    const running = (async () => {
      try {
        for await (const _ of query({
          prompt: "@hang",
          options: { cwd: workDir, env: { ...env, ANTHROPIC_BASE_URL: hangMock.url }, abortController },
        })) {
          // Nothing arrives: the model never answers.
        }
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    try {
      await hangMock.waitForRequest((r) => r.instruction === "@hang", 15_000);
      assert.ok(countTcpSockets() > baseline, "the hung request holds a connection");
      abortController.abort();
      assert.match(String(await running), /abort/i);
      await waitUntil(() => countTcpSockets() <= baseline, 5_000, "the hung connection to close");
    } finally {
      abortController.abort();
      const started = Date.now();
      await hangMock.stop();
      assert.ok(Date.now() - started < 1_000, "stop() returns promptly");
      await hangMock.stop();
    }
  });

  test("@hang: stop() closes a connection the client still holds", async () => {
    const hangMock = await startMockModel();
    const abortController = new AbortController();
    const { workDir, env } = await makeSessionDirs();
    const running = (async () => {
      try {
        for await (const _ of query({
          prompt: "@delay 60000\n@say never",
          options: { cwd: workDir, env: { ...env, ANTHROPIC_BASE_URL: hangMock.url }, abortController },
        })) {
          // The answer is delayed past the end of the test.
        }
      } catch {
        // The CLI reports the dropped connection as an API error; only the server side matters here.
      }
    })();
    try {
      await hangMock.waitForRequest((r) => r.step === 0, 15_000);
      const started = Date.now();
      await hangMock.stop();
      assert.ok(Date.now() - started < 1_000, "stop() returns promptly with a request in flight");
    } finally {
      abortController.abort();
      await running;
    }
  });
});
