// Writes a scripted message as a Messages API response: an SSE stream (what the CLI asks for) or, for
// `stream: false` callers, one JSON message.
import type { ServerResponse } from "node:http";
import type { ContentBlock, ScriptedMessage } from "./answer.ts";
import { waitUnlessClosed } from "./http-io.ts";

/** Text and tool JSON go out in a few pieces so clients are exercised on reassembly, as with the real API. */
const CHUNKS_PER_BLOCK = 3;

/** Streams the message; with `paceMs` the pieces are that far apart (stops early if the client hangs up). */
export async function writeMessageStream(response: ServerResponse, message: ScriptedMessage): Promise<void> {
  response.writeHead(200, {
    ...message.headers,
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "request-id": `req_${message.id}`,
  });
  const send = (type: string, data: Record<string, unknown>): void => {
    response.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  };
  send("message_start", {
    message: {
      id: message.id,
      type: "message",
      role: "assistant",
      model: message.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...inputUsage(message), output_tokens: 0 },
    },
  });
  for (const [index, block] of message.content.entries()) {
    send("content_block_start", { index, content_block: emptyBlock(block) });
    for (const delta of blockDeltas(block)) {
      if (!(await waitUnlessClosed(response, message.paceMs))) return;
      send("content_block_delta", { index, delta });
    }
    send("content_block_stop", { index });
  }
  send("message_delta", {
    delta: { stop_reason: message.stopReason, stop_sequence: null },
    usage: { output_tokens: message.usage.outputTokens },
  });
  send("message_stop", {});
  response.end();
}

export function writeMessageJson(response: ServerResponse, message: ScriptedMessage): void {
  const body = {
    id: message.id,
    type: "message",
    role: "assistant",
    model: message.model,
    content: message.content,
    stop_reason: message.stopReason,
    stop_sequence: null,
    usage: { ...inputUsage(message), output_tokens: message.usage.outputTokens },
  };
  response.writeHead(200, {
    ...message.headers,
    "content-type": "application/json",
    "request-id": `req_${message.id}`,
  });
  response.end(JSON.stringify(body));
}

function inputUsage(message: ScriptedMessage): Record<string, number> {
  return {
    input_tokens: message.usage.inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}

function emptyBlock(block: ContentBlock): Record<string, unknown> {
  if (block.type === "text") return { type: "text", text: "" };
  return { type: "tool_use", id: block.id, name: block.name, input: {} };
}

function blockDeltas(block: ContentBlock): Record<string, unknown>[] {
  if (block.type === "text") {
    return splitIntoChunks(block.text, CHUNKS_PER_BLOCK).map((text) => ({ type: "text_delta", text }));
  }
  return splitIntoChunks(JSON.stringify(block.input), CHUNKS_PER_BLOCK).map((partial_json) => ({
    type: "input_json_delta",
    partial_json,
  }));
}

/** Splits by code point, so a chunk boundary never cuts a surrogate pair in half. */
export function splitIntoChunks(text: string, count: number): string[] {
  const codePoints = Array.from(text);
  const size = Math.max(1, Math.ceil(codePoints.length / count));
  const chunks: string[] = [];
  for (let start = 0; start < codePoints.length; start += size) {
    chunks.push(codePoints.slice(start, start + size).join(""));
  }
  return chunks.length > 0 ? chunks : [""];
}
