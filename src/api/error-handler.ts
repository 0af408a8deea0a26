import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { BatonError, describeError } from "../core/errors.ts";

/**
 * The one place where errors become HTTP answers: `{error: {code, message, details?}}` with the status from
 * the catalogue. Validation errors name the field; JSON syntax errors say so; anything unexpected is a 500
 * with the detail logged, not sent.
 */
export function handleError(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const batonError = toBatonError(error);
  // A 500 is a bug worth a stack; a 503 while shutting down is expected and says so to the caller.
  if (batonError.code === "INTERNAL") request.log.error({ err: error }, "request failed");
  return reply.status(batonError.status).send({ error: batonError.toJSON() });
}

function toBatonError(error: FastifyError | Error): BatonError {
  if (error instanceof BatonError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((issue) => {
      const path = issue.instancePath.replace(/^\//, "").replaceAll("/", ".");
      const field =
        path || String((issue.params as { issue?: { keys?: string[] } }).issue?.keys?.join(", ") ?? "");
      return { field: field || "(body)", message: issue.message };
    });
    const where = error.validationContext ?? "request";
    const summary = issues.map((issue) => `${issue.field}: ${issue.message}`).join("; ");
    return new BatonError("VALIDATION_FAILED", `invalid ${where}: ${summary}`, { issues });
  }
  const fastifyError = error as FastifyError;
  if (
    fastifyError.code === "FST_ERR_CTP_INVALID_JSON_BODY" ||
    (error instanceof SyntaxError && fastifyError.statusCode === 400)
  ) {
    return new BatonError("INVALID_JSON", `the request body is not valid JSON: ${error.message}`);
  }
  if (fastifyError.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
    return new BatonError("INVALID_JSON", "the request body is empty; send a JSON object");
  }
  if (fastifyError.code === "FST_ERR_CTP_BODY_TOO_LARGE")
    return new BatonError("PAYLOAD_TOO_LARGE", error.message);
  if (fastifyError.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return new BatonError(
      "VALIDATION_FAILED",
      `unsupported content type: send application/json (${error.message})`,
    );
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new BatonError("VALIDATION_FAILED", error.message);
  }
  return new BatonError("INTERNAL", `internal error: ${describeError(error)}`);
}
