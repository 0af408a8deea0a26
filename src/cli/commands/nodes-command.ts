import type { Command } from "commander";
import type { BatonNode } from "../../client/index.ts";
import { renderTable } from "../format.ts";
import { clientFrom, type GlobalOptions, print, runCommand } from "../run-command.ts";

export function registerNodesCommand(program: Command): void {
  program
    .command("nodes")
    .description("the Baton nodes sharing this database: id, URL, last heartbeat, live sessions")
    .action((_options: unknown, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        print(global, await clientFrom(global).nodes(), nodesTable);
      }),
    );
}

export function nodesTable(nodes: readonly BatonNode[]): string {
  return renderTable(
    ["ID", "URL", "STATE", "LIVE", "LAST SEEN", "STARTED"],
    nodes.map((node) => [
      node.self ? `${node.id} (this)` : node.id,
      node.url,
      node.alive ? "alive" : "lease expired",
      String(node.liveSessions),
      node.lastSeenAt,
      node.startedAt,
    ]),
  );
}
