import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { type EffectiveConfig, EffectiveConfigSchema } from "../../core/effective-config.ts";

export function configRoutes(deps: { effectiveConfig: () => EffectiveConfig }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/config", {
      config: { access: "config.read" },
      schema: {
        tags: ["meta"],
        summary: "The server's effective configuration (secrets masked) and how its agents reach a model",
        response: { 200: EffectiveConfigSchema },
      },
      handler: async () => deps.effectiveConfig(),
    });
  };
}
