import assert from "node:assert/strict";
import { test } from "node:test";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { OutputDeltas } from "../../src/sessions/output-deltas.ts";
import type { OutputDelta } from "../../src/sessions/runner-port.ts";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";
import { WsProbe } from "./ws-probe.ts";

const TEXT = "The quick brown fox jumps over the lazy dog while the model streams it piece by piece";

const isDelta = (event: BatonEvent) => event.topic === "session.output" && event.data.delta === true;
const isWholeOutput = (event: BatonEvent) => event.topic === "session.output" && event.data.delta !== true;

test("streamed text reaches only subscribers that asked for deltas, ahead of the whole text, and is stored", async (t) => {
  // The scripted model sends the text in three pieces 150 ms apart; Baton coalesces per 20 ms.
  const h = await startHarness(t, { outputDeltaMs: 20 });
  const probe = await WsProbe.open(t, h.url);
  const session = await h.client.spawn({ prompt: `@pace 150\n@say ${TEXT}`, workDir: h.tempDir() });
  await probe.subscribe({ id: "deltas", session: session.id, after: 0, deltas: true });
  await probe.subscribe({ id: "output", session: session.id, after: 0, output: true });
  await probe.subscribe({ id: "lifecycle", session: session.id, after: 0 });
  const end = await h.waitFor(isTurnEnd(session.id));
  for (const id of ["deltas", "output", "lifecycle"]) await probe.waitForSeq(id, end.seq);

  const streamed = probe.events("deltas");
  const deltas = streamed.filter(isDelta);
  const whole = streamed.find(isWholeOutput);
  assert.ok(whole, "the complete text still arrives");
  assert.equal(whole.data.text, TEXT);
  assert.ok(deltas.length >= 2, `pieces 150 ms apart are not all joined into one (got ${deltas.length})`);
  assert.equal(deltas.map((event) => event.data.text).join(""), TEXT, "the deltas add up to the text");
  assert.ok(
    deltas.every((event) => event.seq < whole.seq && event.data.messageId === whole.data.messageId),
    "every delta precedes the whole text and names the same model message",
  );
  assert.equal(typeof whole.data.messageId, "string");

  assert.deepEqual(probe.events("output").filter(isDelta), [], "output alone does not include deltas");
  assert.ok(probe.events("output").some(isWholeOutput));
  assert.ok(!probe.events("lifecycle").some((event) => event.topic === "session.output"));

  // Stored like every event: a JSON read gets them when it asks, and only then.
  const withDeltas = await h.client.sessionEvents(session.id, { deltas: true });
  assert.deepEqual(
    withDeltas.events.filter(isDelta).map((event) => event.seq),
    deltas.map((event) => event.seq),
  );
  const withOutput = await h.client.sessionEvents(session.id, { output: true });
  assert.deepEqual(withOutput.events.filter(isDelta), []);
});

test("outputDeltaMs 0 turns deltas off: nothing streamed is stored, the whole text still is", async (t) => {
  const h = await startHarness(t, { outputDeltaMs: 0 });
  const session = await h.client.spawn({ prompt: `@pace 50\n@say ${TEXT}`, workDir: h.tempDir() });
  await h.waitFor(isTurnEnd(session.id));
  const stored = await h.client.sessionEvents(session.id, { deltas: true });
  assert.deepEqual(stored.events.filter(isDelta), []);
  assert.equal(stored.events.find(isWholeOutput)?.data.text, TEXT);
});

test("OutputDeltas joins pieces of one message until its interval ends or another message starts", async () => {
  const emitted: Array<OutputDelta & { delta: true }> = [];
  let emittedOne: () => void = () => undefined;
  const deltas = new OutputDeltas(30, (delta) => {
    emitted.push(delta);
    emittedOne();
  });
  deltas.add({ text: "Hel", messageId: "m1" });
  deltas.add({ text: "lo", messageId: "m1" });
  deltas.add({ text: "sub", messageId: "m1", parentToolUseId: "tool-1" }); // a subagent's text: its own delta
  deltas.add({ text: "World", messageId: "m2" });
  assert.deepEqual(emitted, [
    { text: "Hello", messageId: "m1", delta: true },
    { text: "sub", messageId: "m1", parentToolUseId: "tool-1", delta: true },
  ]);
  const timerFired = new Promise<void>((resolve) => {
    emittedOne = resolve;
  });
  const deadline = setTimeout(() => assert.fail("the interval never flushed"), 5000);
  await timerFired;
  clearTimeout(deadline);
  assert.deepEqual(emitted.at(-1), { text: "World", messageId: "m2", delta: true });

  deltas.add({ text: "dropped", messageId: "m3" });
  deltas.discard();
  deltas.flush();
  assert.equal(emitted.length, 3, "discarded pieces are never emitted");
});
