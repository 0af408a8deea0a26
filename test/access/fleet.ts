import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { BatonClient } from "../../src/client/baton-client.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";

/** Every kind of caller the authorization rules tell apart. */
export const CALLERS = [
  "none", // no credentials
  "wrong", // a token Baton does not know
  "admin",
  "viewer",
  "alice", // user bound to owner alice: owns the tree R → {C, K}
  "bob", // user bound to owner bob: owns B
  "agentR", // the agent of alice's root R (parent of C and K)
  "agentC", // the agent of C, R's other child: same tree, not K's ancestor
  "agentB", // the agent of bob's B: another tree
] as const;
export type Caller = (typeof CALLERS)[number];

const TOKENS = {
  admin: "matrix-admin-token-000000000000",
  viewer: "matrix-viewer-token-00000000000",
  alice: "matrix-alice-token-000000000000",
  bob: "matrix-bob-token-0000000000000000",
};

/** The fleet's Slack app signing secret (for the rows of POST /slack/events). */
export const SLACK_SIGNING_SECRET = "matrix-slack-signing-secret-000";

export interface Fleet {
  h: Harness;
  /** The token a caller presents (undefined: none). */
  token: Record<Caller, string | undefined>;
  clientOf(caller: Caller): BatonClient;
  ids: { R: string; C: string; K: string; B: string };
  workDir: string;
}

/** The agent writes its own BATON_TOKEN to a file: how the tests get agent tokens, exactly as agents do. */
const tokenScript = (file: string) => `@bash printenv BATON_TOKEN > ${file}\n@say ready`;

/**
 * A Baton with one principal of each kind and two trees: alice's root R with children C (live token) and K
 * (killed: the target of every state-changing check, so allowed calls change nothing), and bob's B.
 */
export async function startFleet(t: TestContext): Promise<Fleet> {
  const h = await startHarness(t, {
    token: TOKENS.admin,
    // Opens POST /slack/events, the one route a Slack signature opens rather than a Baton token.
    slackSigningSecret: SLACK_SIGNING_SECRET,
    tokens: [
      { name: "vera", token: TOKENS.viewer, role: "viewer" },
      { name: "alice", token: TOKENS.alice, role: "user", owner: "alice" },
      { name: "bob", token: TOKENS.bob, role: "user", owner: "bob" },
    ],
  });
  const workDir = h.tempDir();
  const as = (token: string) => new BatonClient({ url: h.url, token });
  // Children do not message R when their turns end (notifyParent: false): each message would start a turn
  // of R's, still running when the matrix expects R idle on a loaded box (CI saw R's interrupt answer 202).
  const quiet = { notifyParent: false };
  const spawnAndRead = async (client: BatonClient, name: string, parent?: string) => {
    const file = join(workDir, `token-${name}`);
    const session = await client.spawn({
      prompt: tokenScript(file),
      workDir,
      name,
      allowedTools: ["Bash"],
      ...quiet,
      ...(parent ? { parentSessionId: parent } : {}),
    });
    await h.waitFor(isTurnEnd(session.id), { timeoutMs: 60_000 });
    return { id: session.id, token: readFileSync(file, "utf8").trim() };
  };
  const R = await spawnAndRead(as(TOKENS.alice), "r-alice");
  const B = await spawnAndRead(as(TOKENS.bob), "b-bob");
  // R's agent spawns its children with its own token: parent and owner come from the token.
  const C = await spawnAndRead(as(R.token), "c-alice");
  const K = await as(R.token).spawn({ prompt: "@say hi", workDir, name: "k-alice", ...quiet });
  await h.waitFor(isTurnEnd(K.id), { timeoutMs: 60_000 });
  await as(TOKENS.admin).kill(K.id);
  const token: Record<Caller, string | undefined> = {
    none: undefined,
    wrong: "matrix-unknown-token-0000000000",
    admin: TOKENS.admin,
    viewer: TOKENS.viewer,
    alice: TOKENS.alice,
    bob: TOKENS.bob,
    agentR: R.token,
    agentC: C.token,
    agentB: B.token,
  };
  return {
    h,
    token,
    clientOf: (caller) => new BatonClient({ url: h.url, token: token[caller] ?? "" }),
    ids: { R: R.id, C: C.id, K: K.id, B: B.id },
    workDir,
  };
}
