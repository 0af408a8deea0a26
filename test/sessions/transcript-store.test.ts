import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { InMemorySessionStore, type SessionStore } from "@anthropic-ai/claude-agent-sdk";
import { type TranscriptEntry, TranscriptStore } from "../../src/sessions/transcript-store.ts";
import { BACKENDS, freshStore, useDatabase } from "../support/store-backends.ts";

/*
 * The SDK's SessionStore contract (sdk.d.ts, and the conformance suite the SDKs ship), checked on Baton's
 * store on both backends. The same contract tests also run against the SDK's own InMemorySessionStore, so
 * they say what the SDK means, not what Baton happens to do. Baton's extras (uuid idempotence, big
 * batches, surviving a reopen) run on the database backends only.
 */

type Store = Required<Pick<SessionStore, "append" | "load" | "listSessions" | "delete" | "listSubkeys">>;

interface Subject {
  name: string;
  skip: string | undefined;
  make(t: TestContext): Promise<Store>;
}

const DATABASES: Subject[] = BACKENDS.map((backend) => ({
  name: backend.name,
  skip: backend.skip,
  make: async (t) => new TranscriptStore(await freshStore(t, backend)),
}));
const SUBJECTS: Subject[] = [
  ...DATABASES,
  { name: "sdk-in-memory (reference)", skip: undefined, make: async () => new InMemorySessionStore() },
];

const KEY = { projectKey: "proj", sessionId: "sess" };
const SUB1 = { ...KEY, subpath: "subagents/agent-1" };
const SUB2 = { ...KEY, subpath: "subagents/agent-2" };

/** An entry as the contract writes them: `type` is required and opaque. */
function entry(fields: Record<string, unknown>): TranscriptEntry {
  return { type: "x", ...fields };
}

// Compile-time: Baton's store is what query() takes as `options.sessionStore`.
const _fits: (store: TranscriptStore) => SessionStore = (store) => store;
void _fits;

for (const subject of SUBJECTS) {
  const named = (what: string) => `${subject.name}: ${what}`;
  const options = { skip: subject.skip };

  test(
    named("append then load gives the entries back deep-equal, in append order across calls"),
    options,
    async (t) => {
      const store = await subject.make(t);
      await store.append(KEY, [entry({ uuid: "z", n: 1 })]);
      await store.append(KEY, [entry({ uuid: "a", n: 2 }), entry({ uuid: "m", n: 3 })]);
      await store.append(KEY, []);
      await store.append(KEY, [entry({ uuid: "b", n: 4, nested: { list: [1, "two", null], ü: "ß ✓" } })]);
      assert.deepEqual(await store.load(KEY), [
        entry({ uuid: "z", n: 1 }),
        entry({ uuid: "a", n: 2 }),
        entry({ uuid: "m", n: 3 }),
        entry({ uuid: "b", n: 4, nested: { list: [1, "two", null], ü: "ß ✓" } }),
      ]);
    },
  );

  test(
    named("load of a key never written is null, for an unknown session and an unknown subpath"),
    options,
    async (t) => {
      const store = await subject.make(t);
      assert.equal(await store.load({ projectKey: "proj", sessionId: "nope" }), null);
      await store.append(KEY, [entry({ uuid: "x" })]);
      assert.equal(await store.load({ ...KEY, subpath: "nope" }), null);
    },
  );

  test(
    named("subpaths are separate transcripts, and projects are isolated from each other"),
    options,
    async (t) => {
      const store = await subject.make(t);
      await store.append(KEY, [entry({ uuid: "m" })]);
      await store.append(SUB1, [entry({ uuid: "s" })]);
      assert.deepEqual(await store.load(KEY), [entry({ uuid: "m" })]);
      assert.deepEqual(await store.load(SUB1), [entry({ uuid: "s" })]);
      await store.append({ projectKey: "A", sessionId: "s1" }, [entry({ from: "A" })]);
      await store.append({ projectKey: "B", sessionId: "s1" }, [entry({ from: "B" })]);
      assert.deepEqual(await store.load({ projectKey: "A", sessionId: "s1" }), [entry({ from: "A" })]);
      assert.deepEqual(await store.load({ projectKey: "B", sessionId: "s1" }), [entry({ from: "B" })]);
      assert.equal((await store.listSessions("A")).length, 1);
      assert.equal((await store.listSessions("B")).length, 1);
    },
  );

  test(
    named("listSessions names a project's main transcripts with an epoch-ms mtime"),
    options,
    async (t) => {
      const store = await subject.make(t);
      const before = Date.now();
      await store.append({ projectKey: "proj", sessionId: "a" }, [entry({ n: 1 })]);
      await store.append({ projectKey: "proj", sessionId: "b" }, [entry({ n: 1 })]);
      await store.append({ projectKey: "proj", sessionId: "b", subpath: "subagents/agent-1" }, [entry({})]);
      await store.append({ projectKey: "other", sessionId: "c" }, [entry({ n: 1 })]);
      const sessions = await store.listSessions("proj");
      assert.deepEqual(sessions.map((session) => session.sessionId).sort(), ["a", "b"]);
      for (const { mtime } of sessions) {
        assert.ok(
          Number.isInteger(mtime) && mtime >= before - 1000 && mtime <= Date.now() + 1000,
          `${mtime}`,
        );
      }
      assert.deepEqual(await store.listSessions("never-appended-project"), []);
    },
  );

  test(
    named("listSubkeys lists a session's subpaths only: not the main transcript, not other sessions'"),
    options,
    async (t) => {
      const store = await subject.make(t);
      await store.append(KEY, [entry({ n: 1 })]);
      assert.deepEqual(await store.listSubkeys(KEY), []);
      await store.append(SUB1, [entry({ n: 1 })]);
      await store.append(SUB2, [entry({ n: 1 })]);
      await store.append({ ...KEY, sessionId: "other-sess", subpath: "subagents/agent-x" }, [entry({})]);
      assert.deepEqual((await store.listSubkeys(KEY)).sort(), [SUB1.subpath, SUB2.subpath]);
      assert.deepEqual(await store.listSubkeys({ projectKey: "proj", sessionId: "never-appended" }), []);
    },
  );

  test(
    named(
      "delete of the main key removes the session and its subpaths, nothing else; of a subpath, that one",
    ),
    options,
    async (t) => {
      const store = await subject.make(t);
      await store.delete({ projectKey: "proj", sessionId: "never-written" });
      const other = { projectKey: "proj", sessionId: "sess2" };
      const otherProject = { projectKey: "other-proj", sessionId: KEY.sessionId };
      for (const key of [KEY, SUB1, SUB2, other, otherProject]) await store.append(key, [entry({ n: 1 })]);
      await store.delete(SUB1);
      assert.equal(await store.load(SUB1), null);
      assert.equal((await store.load(SUB2))?.length, 1);
      assert.equal((await store.load(KEY))?.length, 1);
      assert.deepEqual(await store.listSubkeys(KEY), [SUB2.subpath]);

      await store.delete(KEY);
      assert.equal(await store.load(KEY), null);
      assert.equal(await store.load(SUB2), null);
      assert.deepEqual(await store.listSubkeys(KEY), []);
      assert.ok(!(await store.listSessions("proj")).some((session) => session.sessionId === KEY.sessionId));
      assert.equal((await store.load(other))?.length, 1);
      assert.equal((await store.load(otherProject))?.length, 1);
    },
  );
}

for (const subject of DATABASES) {
  const named = (what: string) => `${subject.name}: ${what}`;
  const options = { skip: subject.skip };

  test(
    named("a retried batch is stored once (uuid is the idempotency key); lines without a uuid always append"),
    options,
    async (t) => {
      const store = await subject.make(t);
      const batch = [
        entry({ uuid: "u1", n: 1 }),
        entry({ type: "custom-title", title: "t" }),
        entry({ uuid: "u2" }),
      ];
      await store.append(KEY, batch);
      await store.append(KEY, batch);
      await store.append(KEY, [entry({ uuid: "u3" }), entry({ uuid: "u3", again: true })]);
      assert.deepEqual(await store.load(KEY), [
        ...batch,
        entry({ type: "custom-title", title: "t" }),
        entry({ uuid: "u3" }),
      ]);
      // The same uuid in another transcript is another line.
      await store.append(SUB1, [entry({ uuid: "u1", n: 1 })]);
      assert.deepEqual(await store.load(SUB1), [entry({ uuid: "u1", n: 1 })]);
    },
  );

  test(named("a batch larger than one statement keeps its order and lands whole"), options, async (t) => {
    const store = await subject.make(t);
    const big = Array.from({ length: 1234 }, (_, n) => entry({ uuid: `u${n}`, n, text: "x".repeat(n % 50) }));
    await store.append(KEY, big.slice(0, 10));
    await store.append(KEY, big);
    assert.deepEqual(await store.load(KEY), big);
  });

  test(named("a transcript survives closing and reopening the database"), options, async (t) => {
    const backend = BACKENDS.find((each) => each.name === subject.name);
    assert.ok(backend);
    const database = await useDatabase(t, backend);
    const first = await database.open();
    await new TranscriptStore(first).append(KEY, [entry({ uuid: "kept", big: "y".repeat(100_000) })]);
    await first.close();
    const reopened = new TranscriptStore(await database.open());
    assert.deepEqual(await reopened.load(KEY), [entry({ uuid: "kept", big: "y".repeat(100_000) })]);
  });
}
