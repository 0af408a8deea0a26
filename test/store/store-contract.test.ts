import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sql } from "kysely";
import { isBatonError } from "../../src/core/errors.ts";
import { EventLog } from "../../src/events/event-log.ts";
import { pruneEvents } from "../../src/events/retention.ts";
import { deleteEventsThrough } from "../../src/store/event-queries.ts";
import { deleteLock, insertLock, selectHeldLocks, updateLock } from "../../src/store/lock-queries.ts";
import {
  cancelPendingMessages,
  insertMessage,
  markMessagesDelivered,
  selectMessageByIdempotencyKey,
  selectPendingMessages,
} from "../../src/store/message-queries.ts";
import type { Store } from "../../src/store/open-store.ts";
import {
  advanceNotifyCursor,
  claimDelivery,
  insertAttempt,
  insertDelivery,
  insertDisabledEndpoint,
  selectAttempts,
  selectDeliveries,
  selectDeliveryById,
  selectDisabledEndpoint,
  selectDueDeliveries,
  selectNextDueAt,
  selectNotifyCursor,
  setNotifyCursor,
  updateDelivery,
} from "../../src/store/outbox-queries.ts";
import {
  countPendingPermissions,
  insertPermission,
  selectPermission,
  selectPermissions,
  selectReusablePermission,
  updatePermission,
} from "../../src/store/permission-queries.ts";
import { selectLatestSessionEvent, selectRecentSessionEvents } from "../../src/store/recent-event-queries.ts";
import {
  countSessionsByStatus,
  countSessionsInStatuses,
  insertSession,
  selectLiveSessionByName,
  selectQueue,
  selectSessionById,
  selectSessionByName,
  selectSessions,
  updateSessionRow,
} from "../../src/store/session-queries.ts";
import { insertTelegramMessage, selectTelegramMessageSession } from "../../src/store/telegram-queries.ts";
import {
  insertWait,
  selectActiveWaitsOn,
  selectExpiredWaits,
  settleWait,
} from "../../src/store/wait-queries.ts";
import { BACKENDS, freshStore, useDatabase } from "../support/store-backends.ts";
import { at, deliveryRow, lockRow, messageRow, permissionRow, sessionRow, waitRow } from "./contract-rows.ts";

/**
 * The store contract: every query Baton runs behaves the same on SQLite and on PostgreSQL. One suite, one
 * loop over the backends; each test gets a fresh, empty database and drops it afterwards.
 */
const MIGRATION_NAMES = [
  "001-initial",
  "002-notify",
  "003-permissions",
  "004-waits",
  "005-locks",
  "006-access",
  "007-usage",
  "008-keys",
  "009-agent-fingerprint",
  "010-credential-limits",
  "011-usage-daily",
  "012-slack-inbound",
  "013-nodes",
  "014-session-list-indexes",
  "015-transcripts",
  "016-node-free-memory",
  "017-interrupt-requests",
];
const TABLES = [
  "sessions",
  "events",
  "messages",
  "counters",
  "outbox",
  "outbox_attempts",
  "disabled_endpoints",
  "telegram_messages",
  "slack_inbound",
  "nodes",
  "permission_requests",
  "waits",
  "locks",
  "usage_turns",
  "usage_totals",
  "tool_call_counts",
] as const;

async function appliedMigrations(store: Store): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
    store.db,
  );
  return rows.map((row) => row.name);
}

async function counter(store: Store, name: string): Promise<number | undefined> {
  const row = await store.db
    .selectFrom("counters")
    .select("value")
    .where("name", "=", name)
    .executeTakeFirst();
  return row?.value;
}

async function allSeqs(log: EventLog, from = 0): Promise<number[]> {
  const seqs: number[] = [];
  for (let after = from; ; ) {
    const page = await log.read({ after, limit: 1000 });
    seqs.push(...page.events.map((event) => event.seq));
    if (page.nextAfter === after) return seqs;
    after = page.nextAfter;
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

/** SQLite's driver returns rows without a prototype; the contract is about columns and values. */
function plain<T extends object>(row: T | undefined): T | undefined {
  return row && { ...row };
}

const isUniqueViolation = (error: unknown) => /unique/i.test((error as Error).message);

for (const backend of BACKENDS) {
  describe(`store contract: ${backend.name}`, { skip: backend.skip }, () => {
    test("migrations apply to an empty database and are a no-op on reopen", async (t) => {
      const database = await useDatabase(t, backend);
      const first = await database.open();
      assert.deepEqual(await appliedMigrations(first), MIGRATION_NAMES);
      for (const table of TABLES) {
        const row = await first.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as("count"))
          .executeTakeFirstOrThrow();
        assert.equal(Number(row.count), table === "counters" ? 2 : 0, `${table} starts empty`);
      }
      assert.equal(await counter(first, "event_seq"), 0);
      assert.equal(await counter(first, "notify_cursor"), 0);

      const log = await EventLog.open(first);
      await log.write(async ({ tx, emit }) => {
        await insertSession(tx, sessionRow("ses_kept"));
        await emit("session.created", "ses_kept", { config: {} });
      });
      await first.close();

      const [again, concurrent] = await Promise.all([database.open(), database.open()]);
      assert.deepEqual(await appliedMigrations(again), MIGRATION_NAMES);
      assert.deepEqual(await appliedMigrations(concurrent), MIGRATION_NAMES);
      assert.equal((await selectSessionById(again.db, "ses_kept"))?.id, "ses_kept");
      assert.equal(await counter(again, "event_seq"), 1);
      assert.deepEqual(await (await EventLog.open(again)).bounds(), { oldest: 1, latest: 1 });
    });

    test("concurrent writers get seq 1..N without gaps; rolled back writes leave none", async (t) => {
      const store = await freshStore(t, backend);
      const log = await EventLog.open(store);
      const published: number[] = [];
      log.bus.subscribe((event) => published.push(event.seq));
      const WRITERS = 20;
      const PER_WRITER = 5;
      const rollsBack = (writer: number) => writer % 4 === 3;
      const outcomes = await Promise.allSettled(
        range(0, WRITERS - 1).map((writer) =>
          log.write(async ({ tx, emitPublished }) => {
            await insertSession(tx, sessionRow(`ses_w${String(writer).padStart(2, "0")}`));
            const seqs: number[] = [];
            for (let index = 0; index < PER_WRITER; index += 1) {
              seqs.push((await emitPublished("contract.tick", { writer, index })).seq);
              // Yield between events so writers really overlap where the backend lets them.
              await new Promise((resolve) => setImmediate(resolve));
              if (rollsBack(writer) && index === 2) throw new Error(`writer ${writer} rolls back`);
            }
            return { writer, seqs };
          }),
        ),
      );
      const committed = outcomes.flatMap((outcome) =>
        outcome.status === "fulfilled" ? [outcome.value] : [],
      );
      const rejected = outcomes.filter((outcome) => outcome.status === "rejected");
      assert.equal(rejected.length, WRITERS / 4);
      for (const outcome of rejected) assert.match(String(outcome.reason), /rolls back/);
      const total = committed.length * PER_WRITER;

      const stored = await log.read({ after: 0, limit: 5000 });
      assert.deepEqual(
        stored.events.map((event) => event.seq),
        range(1, total),
        "seq is 1..N with no gap",
      );
      assert.deepEqual(published, range(1, total), "the bus published every committed seq, in order");
      assert.deepEqual(await log.bounds(), { oldest: 1, latest: total });
      for (const { writer, seqs } of committed) {
        assert.deepEqual(
          seqs,
          range(seqs[0] ?? 0, (seqs[0] ?? 0) + PER_WRITER - 1),
          `writer ${writer} contiguous`,
        );
        const mine = stored.events.filter((event) => event.data.writer === writer);
        assert.deepEqual(
          mine.map((event) => event.seq),
          seqs,
        );
      }
      for (const event of stored.events) assert.equal(rollsBack(Number(event.data.writer)), false);
      const sessions = await selectSessions(store.db, { limit: 100 });
      assert.equal(sessions.length, committed.length, "rolled back writers left no session row");

      const next = await log.write(({ emitPublished }) => emitPublished("contract.after", {}));
      assert.equal(next.seq, total + 1);
    });

    test("write transactions are serialised: a check-then-insert never races", async (t) => {
      const store = await freshStore(t, backend);
      // What spawn does: is the name free? then insert. Ten at once must yield one insert and nine "taken".
      const outcomes = await Promise.all(
        range(1, 10).map((index) =>
          store.transaction(async (tx) => {
            if (await selectLiveSessionByName(tx, "solo")) return "taken";
            await new Promise((resolve) => setTimeout(resolve, 5));
            await insertSession(tx, sessionRow(`ses_${String(index).padStart(2, "0")}`, { name: "solo" }));
            return "inserted";
          }),
        ),
      );
      assert.deepEqual(outcomes.sort(), ["inserted", ...Array<string>(9).fill("taken")]);
    });

    test("EventLog.read pages by cursor and filters topics (session.*, exact, *) and sessions", async (t) => {
      const store = await freshStore(t, backend);
      // Topic filtering on made-up payloads: the catalogue's payload check is not what this tests.
      const log = await EventLog.open(store, undefined, { validate: false });
      const written: Array<[string, string | undefined]> = [
        ["session.created", "ses_a"],
        ["session.spawned", "ses_a"],
        ["session.tool_use", "ses_b"],
        ["session.toolXuse", "ses_b"], // `_` is a LIKE wildcard: the exact filter must still reject this
        ["lock.acquired", "ses_a"],
        ["Session.created", undefined], // LIKE ignores case in SQLite: the prefix filter must reject this
        ["sessionless.tick", undefined],
        ["session.completed", "ses_a"],
      ];
      for (const [topic, sessionId] of written) {
        await log.write(({ emitPublished }) =>
          emitPublished(topic, { topic, n: 1.5, nested: { ok: true } }, sessionId),
        );
      }
      const topicsOf = (events: Array<{ topic: string }>) => events.map((event) => event.topic);

      const pages: number[][] = [];
      for (let after = 0; ; ) {
        const page = await log.read({ after, limit: 3 });
        if (page.events.length === 0) {
          assert.equal(page.nextAfter, after, "an empty page keeps the cursor");
          break;
        }
        pages.push(page.events.map((event) => event.seq));
        after = page.nextAfter;
      }
      assert.deepEqual(pages, [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8],
      ]);

      const [first] = (await log.read({ after: 0, limit: 1 })).events;
      assert.deepEqual(first?.data, { topic: "session.created", n: 1.5, nested: { ok: true } });
      assert.equal(first?.sessionId, "ses_a");
      assert.equal(typeof first?.seq, "number");

      const prefixed = await log.read({ after: 0, topics: ["session.*"] });
      assert.deepEqual(topicsOf(prefixed.events), [
        "session.created",
        "session.spawned",
        "session.tool_use",
        "session.toolXuse",
        "session.completed",
      ]);
      assert.equal(prefixed.nextAfter, 8);
      const exact = await log.read({ after: 0, topics: ["session.tool_use"] });
      assert.deepEqual(topicsOf(exact.events), ["session.tool_use"]);
      const several = await log.read({ after: 0, topics: ["lock.acquired", "session.created"] });
      assert.deepEqual(topicsOf(several.events), ["session.created", "lock.acquired"]);
      const everything = await log.read({ after: 0, topics: ["*"] });
      assert.deepEqual(
        everything.events.map((event) => event.seq),
        range(1, 8),
      );
      const ofSession = await log.read({ after: 1, sessionId: "ses_a", topics: ["session.*"] });
      assert.deepEqual(topicsOf(ofSession.events), ["session.spawned", "session.completed"]);
      const pagedFilter = await log.read({ after: 0, limit: 2, topics: ["session.*"] });
      assert.deepEqual(topicsOf(pagedFilter.events), ["session.created", "session.spawned"]);
      assert.equal(pagedFilter.nextAfter, 2);
      assert.deepEqual(await log.read({ after: 8 }), { events: [], nextAfter: 8 });

      const recent = await selectRecentSessionEvents(store.db, "ses_a", 2);
      assert.deepEqual(
        recent.map((row) => row.topic),
        ["session.completed", "lock.acquired"],
      );
      assert.equal((await selectLatestSessionEvent(store.db, "ses_b", "session.tool_use"))?.seq, 3);
      assert.equal(await selectLatestSessionEvent(store.db, "ses_b", "session.completed"), undefined);
    });

    test("sessions: insert, update and select; a live name is unique until its session is killed", async (t) => {
      const store = await freshStore(t, backend);
      await store.transaction((tx) =>
        insertSession(tx, sessionRow("ses_1", { name: "worker", cost_usd: 0.125, turns: 3 })),
      );
      await assert.rejects(
        store.transaction((tx) =>
          insertSession(tx, sessionRow("ses_2", { name: "worker", status: "running" })),
        ),
        isUniqueViolation,
        "two live sessions may not share a name",
      );
      assert.equal(await selectSessionById(store.db, "ses_2"), undefined, "the failed insert left nothing");
      // Unnamed sessions are not constrained by the index.
      await store.transaction(async (tx) => {
        await insertSession(tx, sessionRow("ses_3"));
        await insertSession(tx, sessionRow("ses_4"));
      });

      await updateSessionRow(store.db, "ses_1", {
        status: "killed",
        result: "stopped",
        ended_at: at(5),
        pid: 4242,
      });
      await store.transaction((tx) =>
        insertSession(tx, sessionRow("ses_5", { name: "worker", status: "running" })),
      );
      const one = await selectSessionById(store.db, "ses_1");
      assert.deepEqual(plain(one), {
        ...sessionRow("ses_1", { name: "worker", cost_usd: 0.125, turns: 3 }),
        status: "killed",
        result: "stopped",
        ended_at: at(5),
        pid: 4242,
      });
      assert.equal((await selectSessionByName(store.db, "worker"))?.id, "ses_5", "the live one wins");
      assert.equal((await selectLiveSessionByName(store.db, "worker"))?.id, "ses_5");
      await updateSessionRow(store.db, "ses_5", { status: "killed" });
      assert.equal((await selectSessionByName(store.db, "worker"))?.id, "ses_5", "else the newest one");
      assert.equal(await selectLiveSessionByName(store.db, "worker"), undefined);
      assert.equal(await selectSessionByName(store.db, "nobody"), undefined);
    });

    test("sessions: listing filters, counts, and the queue in priority then id order", async (t) => {
      const store = await freshStore(t, backend);
      await store.transaction(async (tx) => {
        await insertSession(tx, sessionRow("ses_01", { priority: 0 }));
        await insertSession(tx, sessionRow("ses_02", { priority: 5, owner: "bob" }));
        await insertSession(tx, sessionRow("ses_03", { priority: -1 }));
        await insertSession(tx, sessionRow("ses_04", { priority: 5 }));
        await insertSession(tx, sessionRow("ses_05", { status: "running", parent_session_id: "ses_01" }));
        await insertSession(
          tx,
          sessionRow("ses_06", {
            status: "completed",
            owner: "bob",
            config: JSON.stringify({ prompt: '"workDir":"/work/a"', workDir: "/work/b_c" }),
          }),
        );
        await insertSession(tx, sessionRow("ses_07", { priority: 0 }));
      });
      const ids = (rows: Array<{ id: string }>) => rows.map((row) => row.id);
      assert.deepEqual(ids(await selectQueue(store.db)), ["ses_02", "ses_04", "ses_01", "ses_07", "ses_03"]);

      assert.deepEqual(ids(await selectSessions(store.db, { limit: 3 })), ["ses_07", "ses_06", "ses_05"]);
      assert.deepEqual(ids(await selectSessions(store.db, { before: "ses_05", limit: 2 })), [
        "ses_04",
        "ses_03",
      ]);
      assert.deepEqual(ids(await selectSessions(store.db, { status: ["running", "completed"], limit: 10 })), [
        "ses_06",
        "ses_05",
      ]);
      assert.deepEqual(ids(await selectSessions(store.db, { owner: "bob", limit: 10 })), [
        "ses_06",
        "ses_02",
      ]);
      assert.deepEqual(ids(await selectSessions(store.db, { parentSessionId: "ses_01", limit: 10 })), [
        "ses_05",
      ]);
      assert.deepEqual(ids(await selectSessions(store.db, { workDir: "/work/b_c", limit: 10 })), ["ses_06"]);
      assert.deepEqual(ids(await selectSessions(store.db, { workDir: "/work/bXc", limit: 10 })), []);
      assert.equal((await selectSessions(store.db, { workDir: "/work/a", limit: 10 })).length, 6);

      assert.deepEqual(await countSessionsByStatus(store.db), { queued: 5, running: 1, completed: 1 });
      const inStatuses = await countSessionsInStatuses(store.db, ["queued", "completed"]);
      assert.equal(inStatuses.total, 6);
      assert.deepEqual([...inStatuses.byOwner].sort(), [
        ["alice", 4],
        ["bob", 2],
      ]);
    });

    test("messages: pending ones in queued_seq order, idempotency keys unique per session", async (t) => {
      const store = await freshStore(t, backend);
      await store.transaction(async (tx) => {
        await insertMessage(tx, messageRow("m30", { queued_seq: 30 }));
        await insertMessage(tx, messageRow("m10", { queued_seq: 10, idempotency_key: "k1" }));
        await insertMessage(tx, messageRow("m20", { queued_seq: 20 }));
        await insertMessage(
          tx,
          messageRow("other", { queued_seq: 5, session_id: "ses_b", idempotency_key: "k1" }),
        );
      });
      const ids = (rows: Array<{ id: string }>) => rows.map((row) => row.id);
      assert.deepEqual(ids(await selectPendingMessages(store.db, "ses_a")), ["m10", "m20", "m30"]);
      const [oldest] = await selectPendingMessages(store.db, "ses_a");
      assert.deepEqual(plain(oldest), messageRow("m10", { queued_seq: 10, idempotency_key: "k1" }));

      assert.equal((await selectMessageByIdempotencyKey(store.db, "ses_a", "k1"))?.id, "m10");
      assert.equal((await selectMessageByIdempotencyKey(store.db, "ses_b", "k1"))?.id, "other");
      assert.equal(await selectMessageByIdempotencyKey(store.db, "ses_a", "k2"), undefined);
      await assert.rejects(
        store.transaction((tx) => insertMessage(tx, messageRow("dup", { idempotency_key: "k1" }))),
        isUniqueViolation,
      );

      await store.transaction((tx) => markMessagesDelivered(tx, ["m10", "m30"], at(1)));
      await store.transaction((tx) => markMessagesDelivered(tx, [], at(2)));
      assert.deepEqual(ids(await selectPendingMessages(store.db, "ses_a")), ["m20"]);
      assert.equal((await selectMessageByIdempotencyKey(store.db, "ses_a", "k1"))?.delivered_at, at(1));
      await store.transaction((tx) => cancelPendingMessages(tx, "ses_a"));
      assert.deepEqual(await selectPendingMessages(store.db, "ses_a"), []);
      assert.deepEqual(ids(await selectPendingMessages(store.db, "ses_b")), ["other"]);
    });

    test("permission requests round trip", async (t) => {
      const store = await freshStore(t, backend);
      await store.transaction(async (tx) => {
        await insertPermission(tx, permissionRow("perm_2", { created_at: at(2) }));
        await insertPermission(tx, permissionRow("perm_1", { created_at: at(1), tool_use_id: "tu_1" }));
        await insertPermission(tx, permissionRow("perm_3", { created_at: at(3), session_id: "ses_b" }));
      });
      await updatePermission(store.db, "perm_1", {
        status: "allowed",
        always_allow: 1,
        answered_by: "human",
        answered_at: at(4),
        updated_input: JSON.stringify({ command: "ls -la" }),
      });
      assert.deepEqual(
        plain(await selectPermission(store.db, "perm_1")),
        permissionRow("perm_1", {
          created_at: at(1),
          tool_use_id: "tu_1",
          status: "allowed",
          always_allow: 1,
          answered_by: "human",
          answered_at: at(4),
          updated_input: JSON.stringify({ command: "ls -la" }),
        }),
      );
      const ids = (rows: Array<{ id: string }>) => rows.map((row) => row.id);
      assert.deepEqual(ids(await selectPermissions(store.db, { limit: 10 })), ["perm_1", "perm_2", "perm_3"]);
      assert.deepEqual(ids(await selectPermissions(store.db, { status: "pending", limit: 10 })), [
        "perm_2",
        "perm_3",
      ]);
      assert.deepEqual(ids(await selectPermissions(store.db, { sessionId: "ses_a", limit: 1 })), ["perm_1"]);
      const input = JSON.stringify({ command: "ls" });
      assert.equal(
        (await selectReusablePermission(store.db, "ses_a", "Bash", input))?.id,
        "perm_2",
        "newest",
      );
      await updatePermission(store.db, "perm_2", { consumed: 1 });
      assert.equal((await selectReusablePermission(store.db, "ses_a", "Bash", input))?.id, "perm_1");
      assert.equal(await selectReusablePermission(store.db, "ses_a", "Edit", input), undefined);
      const pending = await countPendingPermissions(store.db, "ses_a");
      assert.equal(pending, 1);
      assert.equal(typeof pending, "number");
    });

    test("waits: active by target, expired by deadline, settled once", async (t) => {
      const store = await freshStore(t, backend);
      await insertWait(store.db, waitRow("w_late", { created_at: at(2), deadline: at(100) }));
      await insertWait(store.db, waitRow("w_early", { created_at: at(1), deadline: at(10) }));
      await insertWait(store.db, waitRow("w_other", { target_session_id: "ses_x", deadline: at(5) }));
      const ids = (rows: Array<{ id: string }>) => rows.map((row) => row.id);
      assert.deepEqual(ids(await selectActiveWaitsOn(store.db, "ses_target")), ["w_early", "w_late"]);
      assert.deepEqual(ids(await selectExpiredWaits(store.db, at(10))).sort(), ["w_early", "w_other"]);
      await settleWait(store.db, "w_early", "fired", at(11));
      await settleWait(store.db, "w_early", "expired", at(12));
      assert.deepEqual(ids(await selectActiveWaitsOn(store.db, "ses_target")), ["w_late"]);
      assert.deepEqual(ids(await selectExpiredWaits(store.db, at(10))), ["w_other"]);
      const settled = await store.db
        .selectFrom("waits")
        .selectAll()
        .where("id", "=", "w_early")
        .executeTakeFirst();
      assert.deepEqual(
        plain(settled),
        waitRow("w_early", { created_at: at(1), deadline: at(10), status: "fired", settled_at: at(11) }),
      );
    });

    test("locks: one holder per resource, listed with the holder's name and status", async (t) => {
      const store = await freshStore(t, backend);
      await store.transaction((tx) =>
        insertSession(tx, sessionRow("ses_a", { name: "holder", status: "running" })),
      );
      await insertLock(store.db, lockRow("file:/w/b.ts", { acquired_at: at(1) }));
      await insertLock(store.db, lockRow("file:/w/a.ts", { acquired_at: at(1) }));
      await insertLock(store.db, lockRow("workdir:/w", { session_id: "ses_gone", acquired_at: at(0) }));
      await assert.rejects(
        insertLock(store.db, lockRow("file:/w/a.ts", { session_id: "ses_b" })),
        isUniqueViolation,
      );

      const held = await selectHeldLocks(store.db);
      assert.deepEqual(
        held.map((row) => [row.resource, row.holder_name, row.holder_status]),
        [
          ["workdir:/w", null, null],
          ["file:/w/a.ts", "holder", "running"],
          ["file:/w/b.ts", "holder", "running"],
        ],
      );
      await updateLock(store.db, "file:/w/a.ts", { kind: "explicit", reason: "refactor" });
      await deleteLock(store.db, "workdir:/w");
      const after = await selectHeldLocks(store.db);
      assert.deepEqual(plain(after[0]), {
        ...lockRow("file:/w/a.ts", { acquired_at: at(1), kind: "explicit", reason: "refactor" }),
        holder_name: "holder",
        holder_status: "running",
      });
      assert.equal(after.length, 2);
    });

    test("outbox: deliveries deduplicated per event and endpoint, claimed once, attempts recorded", async (t) => {
      const store = await freshStore(t, backend);
      assert.equal(await insertDelivery(store.db, deliveryRow("d1", { next_attempt_at: at(5) })), true);
      assert.equal(
        await insertDelivery(store.db, deliveryRow("d1-replay", { next_attempt_at: at(5) })),
        false,
      );
      assert.equal(
        await insertDelivery(store.db, deliveryRow("d2", { event_seq: 2, next_attempt_at: at(1) })),
        true,
      );
      assert.equal(
        await insertDelivery(
          store.db,
          deliveryRow("d3", { event_seq: 2, endpoint: "slack:C1", channel: "slack", target: "C1" }),
        ),
        true,
      );
      const ids = (rows: Array<{ id: string }>) => rows.map((row) => row.id);
      assert.deepEqual(ids(await selectDueDeliveries(store.db, at(5), 10)), ["d3", "d2", "d1"]);
      assert.deepEqual(ids(await selectDueDeliveries(store.db, at(1), 1)), ["d3"]);
      assert.equal(await selectNextDueAt(store.db), at(0));

      const [due] = await selectDueDeliveries(store.db, at(1), 1);
      assert.ok(due);
      assert.equal(await claimDelivery(store.db, due, at(60)), true);
      assert.equal(await claimDelivery(store.db, due, at(60)), false, "a stale row cannot claim twice");
      assert.equal((await selectDeliveryById(store.db, "d3"))?.attempts, 1);
      await insertAttempt(store.db, {
        delivery_id: "d3",
        attempt: 1,
        started_at: at(1),
        duration_ms: 12,
        outcome: "failed",
        http_status: 503,
        error: "unavailable",
      });
      await insertAttempt(store.db, {
        delivery_id: "d3",
        attempt: 1,
        started_at: at(2),
        duration_ms: 99,
        outcome: "replayed",
        http_status: null,
        error: null,
      });
      const attempts = await selectAttempts(store.db, "d3");
      assert.deepEqual(
        attempts.map((row) => [row.attempt, row.outcome, row.http_status]),
        [[1, "failed", 503]],
      );
      await updateDelivery(store.db, "d3", {
        status: "delivered",
        delivered_at: at(2),
        last_http_status: 200,
      });
      assert.equal(await selectNextDueAt(store.db), at(1));
      assert.deepEqual(ids(await selectDeliveries(store.db, { channel: "slack" })), ["d3"]);
      assert.deepEqual(ids(await selectDeliveries(store.db, { sessionId: "ses_a" })), ["d1", "d2", "d3"]);
      assert.deepEqual(ids(await selectDeliveries(store.db, { target: "https://example.test/hook" })), [
        "d1",
        "d2",
      ]);

      await insertDisabledEndpoint(store.db, "https://gone.test", "410 Gone");
      await insertDisabledEndpoint(store.db, "https://gone.test", "again");
      assert.equal((await selectDisabledEndpoint(store.db, "https://gone.test"))?.reason, "410 Gone");
      assert.equal(await selectDisabledEndpoint(store.db, "https://fine.test"), undefined);

      assert.equal(await selectNotifyCursor(store.db), 0);
      await advanceNotifyCursor(store.db, 5);
      await advanceNotifyCursor(store.db, 3);
      assert.equal(await selectNotifyCursor(store.db), 5, "the cursor only moves forward");
      await setNotifyCursor(store.db, 2);
      assert.equal(await selectNotifyCursor(store.db), 2);

      const bigMessageId = 2 ** 40 + 7;
      await insertTelegramMessage(store.db, { chatId: "-100", messageId: bigMessageId, sessionId: "ses_a" });
      await insertTelegramMessage(store.db, { chatId: "-100", messageId: bigMessageId, sessionId: "ses_b" });
      assert.equal(await selectTelegramMessageSession(store.db, "-100", bigMessageId), "ses_a");
      assert.equal(await selectTelegramMessageSession(store.db, "-100", 1), undefined);
    });

    test("retention cuts a prefix; an older cursor expires; seq never restarts", async (t) => {
      const store = await freshStore(t, backend);
      const log = await EventLog.open(store);
      for (let index = 0; index < 10; index += 1) {
        await log.write(({ emitPublished }) => emitPublished("contract.tick", { index }));
      }
      assert.equal(await pruneEvents(store, { maxEvents: 4, maxAgeMs: 0 }), 6);
      assert.deepEqual(await log.bounds(), { oldest: 7, latest: 10 });
      await assert.rejects(log.read({ after: 5 }), (error: unknown) => {
        assert.ok(isBatonError(error));
        assert.equal(error.code, "CURSOR_EXPIRED");
        assert.deepEqual(error.details, { oldestSeq: 7, resetAfter: 6 });
        return true;
      });
      assert.deepEqual(await allSeqs(log, 6), range(7, 10), "oldest - 1 is still a whole history");

      assert.equal(await deleteEventsThrough(store.db, 10), 4);
      assert.deepEqual(await log.bounds(), { oldest: 11, latest: 10 }, "an empty log remembers where it was");
      assert.deepEqual(await log.read({ after: 10 }), { events: [], nextAfter: 10 });
      await assert.rejects(log.read({ after: 9 }), /CURSOR|older than the oldest/);
      const next = await log.write(({ emitPublished }) => emitPublished("contract.tick", {}));
      assert.equal(next.seq, 11, "a seq is never handed out twice, even after the log emptied");

      const reopened = await EventLog.open(store);
      assert.deepEqual(await reopened.bounds(), { oldest: 11, latest: 11 });
      // Timestamps have millisecond precision: keep event 11 strictly before the boundary.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const boundary = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 5));
      await log.write(({ emitPublished }) => emitPublished("contract.tick", {}));
      assert.equal(await pruneEvents(store, { maxEvents: 0, maxAgeMs: 60_000 }, boundary + 60_000), 1);
      assert.deepEqual(await log.bounds(), { oldest: 12, latest: 12 });
    });
  });
}
