import { realpathSync } from "node:fs";
import type { AgentFingerprint } from "./runner-port.ts";

/**
 * Verified resume: a resumed `claude` process must be the agent Baton stored. The CLI can come back with
 * another permission mode, model, tool set or conversation than the one it had (claude-code #78777; happy
 * #1695 lost the permission mode in most spawns), and nothing would say so. So every resume compares what
 * the process reports at the start of its first turn (`system/init`) with what Baton stored: the session's
 * `agent_session_id` and config, and the fingerprint recorded when the conversation first started.
 */
export interface ResumeExpectation {
  agentSessionId: string;
  permissionMode: string;
  workDir: string;
  /** Absent for conversations started before fingerprints were recorded: the config alone is checked. */
  stored: AgentFingerprint | undefined;
}

/** The fields a resume checks, as `session.resumed {verified}` lists them. */
export type VerifiedFields = Pick<AgentFingerprint, "agentSessionId" | "permissionMode" | "cwd" | "model"> & {
  tools: number;
};

/** One line naming the first field that differs (`permissionMode is "default", stored "acceptEdits"`). */
export function findResumeMismatch(
  expected: ResumeExpectation,
  actual: AgentFingerprint,
): string | undefined {
  const differs = (field: string, is: string, stored: string) =>
    is === stored ? undefined : `${field} is ${JSON.stringify(is)}, stored ${JSON.stringify(stored)}`;
  const { stored } = expected;
  return (
    differs("sessionId", actual.agentSessionId, expected.agentSessionId) ??
    differs("permissionMode", actual.permissionMode, stored?.permissionMode ?? expected.permissionMode) ??
    differs("permissionMode", actual.permissionMode, expected.permissionMode) ??
    differs("cwd", canonical(actual.cwd), canonical(stored?.cwd ?? expected.workDir)) ??
    (stored ? differs("model", actual.model, stored.model) : undefined) ??
    (stored ? toolsDiffer(actual.tools, stored.tools) : undefined)
  );
}

export function verifiedFields(actual: AgentFingerprint): VerifiedFields {
  const { agentSessionId, permissionMode, cwd, model, tools } = actual;
  return { agentSessionId, permissionMode, cwd, model, tools: tools.length };
}

export function parseFingerprint(json: string | null): AgentFingerprint | undefined {
  return json ? (JSON.parse(json) as AgentFingerprint) : undefined;
}

function toolsDiffer(actual: readonly string[], stored: readonly string[]): string | undefined {
  const missing = stored.filter((tool) => !actual.includes(tool));
  const added = actual.filter((tool) => !stored.includes(tool));
  if (missing.length === 0 && added.length === 0) return undefined;
  const parts = [
    missing.length > 0 ? `missing ${missing.join(", ")}` : "",
    added.length > 0 ? `added ${added.join(", ")}` : "",
  ];
  return `tools differ from the stored set: ${parts.filter(Boolean).join("; ")}`;
}

/** The CLI reports its cwd with symlinks resolved; a workDir may be a symlink (e.g. /tmp on macOS). */
function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
