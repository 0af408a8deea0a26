import type { Command } from "commander";
import { ConfigError, loadConfig, maskSecrets } from "../../core/config.ts";
import { clientFrom, EXIT, type GlobalOptions, print, reportFailure, runCommand } from "../run-command.ts";

interface ServeOptions {
  port?: string;
  host?: string;
  home?: string;
  db?: string;
  config?: string;
  set?: string[];
}

function addServerOptions(command: Command): Command {
  return command
    .option("-p, --port <port>", "HTTP port (default 8420; env BATON_PORT)")
    .option("--host <host>", "interface to bind (default 127.0.0.1; non-loopback needs BATON_TOKEN)")
    .option("--home <dir>", "data directory (default ~/.baton; env BATON_HOME)")
    .option("--db <location>", "SQLite file or postgres:// URL (default <home>/baton.db)")
    .option("-c, --config <file>", "YAML or JSON settings file (env BATON_CONFIG)")
    .option("--set <setting=value...>", "any setting, e.g. --set maxConcurrent=8 (beats env and file)");
}

/** The server flags `config` shares with `serve`: any of them asks for the local view. */
const SERVER_FLAGS = ["port", "host", "home", "db", "config", "set"] as const;

function settingLines(settings: Record<string, unknown>): string {
  return Object.entries(settings)
    .map(
      ([key, value]) =>
        `${key.padEnd(24)}${typeof value === "object" ? JSON.stringify(value) : String(value)}`,
    )
    .join("\n");
}

/** Flags beat env, env beats the config file: see docs/configuration.md. */
function configFrom(options: ServeOptions) {
  const flags: Record<string, unknown> = {
    port: options.port,
    host: options.host,
    home: options.home,
    db: options.db,
  };
  for (const pair of options.set ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new ConfigError(pair, "expected --set setting=value");
    const raw = pair.slice(at + 1);
    flags[pair.slice(0, at)] = /^[[{]/.test(raw.trim()) ? JSON.parse(raw) : raw;
  }
  return loadConfig({ ...(options.config && { file: options.config }), flags });
}

export function registerServerCommands(program: Command): void {
  addServerOptions(
    program.command("serve").description("run the Baton server (HTTP API, event bus, agent sessions)"),
  ).action(async (options: ServeOptions) => {
    let config: ReturnType<typeof loadConfig>;
    try {
      config = configFrom(options);
    } catch (error) {
      process.stderr.write(`baton: ${(error as Error).message}\n`);
      process.exit(EXIT.usage);
    }
    // Loaded here, not at the top: the server's dependencies (Agent SDK, Fastify, …) would add about a
    // second of CPU to every other command's start, and agents run those commands often.
    const { createBaton } = await import("../../app.ts");
    const { HomeLockedError } = await import("../../store/home-lock.ts");
    const baton = await createBaton(config).catch((error: unknown) => {
      if (!(error instanceof HomeLockedError)) throw error;
      process.stderr.write(`baton: ${error.message}\n`);
      process.exit(EXIT.usage);
    });
    const url = await baton.listen().catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "EADDRINUSE") throw error;
      await baton.stop();
      process.stderr.write(
        `baton: port ${config.port} on ${config.host} is in use (another Baton?); use --port or BATON_PORT\n`,
      );
      process.exit(EXIT.usage);
    });
    baton.logger.info({ url, db: maskSecrets(config).db }, `Baton listening on ${url}`);
    let signals = 0;
    const shutdown = (signal: string) => {
      signals += 1;
      if (signals > 1) {
        baton.logger.warn(`second ${signal}: exiting now`);
        process.exit(130);
      }
      baton.logger.info(
        `${signal}: shutting down (closing agent processes so they resume on the next start)`,
      );
      const force = setTimeout(() => process.exit(1), 30_000);
      force.unref();
      void baton.stop().then(() => process.exit(0));
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
    // SIGHUP re-reads the configuration for the model credentials (docs/operations.md): a new one frees
    // the sessions the old one's limit or auth failure parked. Other settings need a restart.
    process.on("SIGHUP", () => {
      try {
        const next = configFrom(options);
        void baton
          .reloadCredentials(next)
          .then(() => baton.logger.info("SIGHUP: model credentials reloaded"));
      } catch (error) {
        baton.logger.warn(`SIGHUP: configuration not reloaded: ${(error as Error).message}`);
      }
    });
  });

  addServerOptions(
    program
      .command("config")
      .description("print the running server's effective configuration (secrets masked) and model access")
      .option(
        "--local",
        "print this CLI's own view instead (its env, file and flags); implied by the flags below",
      )
      .addHelpText(
        "after",
        "\nWithout --local this asks the server at --url / $BATON_URL (GET /config): what it really runs with.",
      ),
  ).action((options: ServeOptions & { local?: boolean }, command: Command) =>
    runCommand(async () => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const local = options.local || SERVER_FLAGS.some((flag) => options[flag] !== undefined);
      if (!local) {
        const remote = await clientFrom(global).config();
        print(
          global,
          remote,
          (value) =>
            `${settingLines(value.settings)}\n${"model access".padEnd(24)}${value.modelAccess.summary}`,
        );
        return;
      }
      let config: Record<string, unknown>;
      try {
        config = maskSecrets(configFrom(options));
      } catch (error) {
        reportFailure({ message: (error as Error).message, exitCode: EXIT.usage });
        return;
      }
      print(global, config, settingLines);
    }),
  );

  program
    .command("mock-model")
    .description("run the scripted Messages-API model server (offline demos and CI for agents)")
    .option("-p, --port <port>", "port to listen on", "9000")
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .addHelpText(
      "after",
      "\nPoint an agent at it with ANTHROPIC_BASE_URL=http://127.0.0.1:9000 ANTHROPIC_API_KEY=any.\nScript reference: docs/mock-model.md",
    )
    .action(async (options: { port: string; host: string }, command: Command) => {
      const { runMockModelCommand } = await import("../../mock-model/index.ts");
      await runMockModelCommand({
        port: Number(options.port),
        host: options.host,
        json: command.optsWithGlobals<GlobalOptions>().json === true,
      });
    });
}
