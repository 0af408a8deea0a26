import type { Command } from "commander";
import type { BatonClient } from "../../client/index.ts";
import type { PermissionRequest } from "../../sessions/permission-schema.ts";
import { formatAge, renderTable } from "../format.ts";
import { clientFrom, type GlobalOptions, print, runCommand } from "../run-command.ts";

export function registerPermissionCommands(program: Command): void {
  program
    .command("pending")
    .description("list permission requests waiting for a human")
    .argument("[session]", "only this session's requests (id or name)")
    .action((session: string | undefined, _options: unknown, command: Command) =>
      runCommand(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        const client = clientFrom(global);
        const page = await client.permissions({ status: "pending", ...(session && { session }) });
        const names = global.json ? new Map<string, string>() : await sessionNames(client, page.permissions);
        print(global, page, (value) => pendingTable(value.permissions, names));
      }),
    );

  for (const decision of ["allow", "deny"] as const) {
    const verb = decision === "allow" ? "approve" : "deny";
    const command = program
      .command(verb)
      .description(
        decision === "allow"
          ? "allow a tool call a session is waiting on"
          : "refuse a tool call; the message reaches the model",
      )
      .argument("<session>", "session id or name")
      .argument("[request]", "request id (default: the session's only pending request)")
      .option(
        "-m, --message <text>",
        decision === "allow" ? "a note recorded with the decision" : "why (the model reads this)",
      );
    if (decision === "allow") command.option("--always", "allow this tool for the rest of the session");
    command.action(
      (
        session: string,
        request: string | undefined,
        options: { message?: string; always?: boolean },
        cmd: Command,
      ) =>
        runCommand(async () => {
          const global = cmd.optsWithGlobals<GlobalOptions>();
          const client = clientFrom(global);
          const requestId = request ?? (await onlyPending(client, session));
          const answered = await client.answerPermission(session, requestId, {
            decision,
            ...(options.message && { message: options.message }),
            ...(options.always && { alwaysAllow: true }),
          });
          print(global, answered, (value) => `${value.toolName} ${value.status} (${value.id})`);
        }),
    );
  }
}

async function onlyPending(client: BatonClient, session: string): Promise<string> {
  const { permissions } = await client.permissions({ status: "pending", session });
  if (permissions.length === 1 && permissions[0]) return permissions[0].id;
  if (permissions.length === 0) throw new Error(`session ${session} has no pending permission request`);
  throw new Error(
    `session ${session} has ${permissions.length} pending requests; name one: ${permissions.map((p) => p.id).join(", ")}`,
  );
}

/** People name their sessions: the table shows those names (one lookup per session waiting, usually few). */
async function sessionNames(
  client: BatonClient,
  requests: PermissionRequest[],
): Promise<Map<string, string>> {
  const ids = [...new Set(requests.map((request) => request.sessionId))];
  const sessions = await Promise.all(ids.map((id) => client.get(id)));
  return new Map(sessions.flatMap((found) => (found.name ? [[found.id, found.name] as const] : [])));
}

function pendingTable(requests: PermissionRequest[], names: Map<string, string>): string {
  if (requests.length === 0) return "no pending permission requests";
  return renderTable(
    ["REQUEST", "SESSION", "TOOL", "INPUT", "AGE"],
    requests.map((request) => {
      const input = JSON.stringify(request.input);
      return [
        request.id,
        names.get(request.sessionId) ?? request.sessionId,
        request.toolName,
        input.length > 60 ? `${input.slice(0, 60)}…` : input,
        formatAge(request.createdAt),
      ];
    }),
  );
}
