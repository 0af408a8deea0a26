/**
 * The Agent SDK, loaded at the first start rather than with Baton: it costs ~20 MB of Baton's own memory
 * (docs/capacity.md, "Idle memory"), which a server that has run no session does not need. Every value the
 * runner takes from the SDK comes through `agentSdk()`; types are imported directly (`import type`).
 */
type AgentSdk = typeof import("@anthropic-ai/claude-agent-sdk");

let loaded: AgentSdk | undefined;
let loading: Promise<AgentSdk> | undefined;

/** Loads the SDK once; concurrent callers share the same import. */
export function loadAgentSdk(): Promise<AgentSdk> {
  loading ??= import("@anthropic-ai/claude-agent-sdk").then((sdk) => {
    loaded = sdk;
    return sdk;
  });
  return loading;
}

/** The SDK, once `loadAgentSdk()` resolved (SdkRunner.prepare, before every start). */
export function agentSdk(): AgentSdk {
  if (!loaded) throw new Error("the Agent SDK is not loaded yet: AgentRunner.prepare() precedes start()");
  return loaded;
}
