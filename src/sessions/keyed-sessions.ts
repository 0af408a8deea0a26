import { BatonError } from "../core/errors.ts";
import { KeyedSerial } from "../core/serial.ts";
import {
  type KeyMessageInput,
  type KeyReceipt,
  type Session,
  type SessionConfigInput,
  SessionConfigSchema,
} from "./session-schema.ts";
import type { SessionService } from "./session-service.ts";
import { WORKING } from "./session-status.ts";

/** A session to spawn for keys with this prefix (the `keyTemplates` setting): a SessionConfig without prompt. */
export interface KeyTemplate {
  prefix: string;
  template: Omit<SessionConfigInput, "prompt" | "key">;
}

const TemplateSchema = SessionConfigSchema.omit({ prompt: true, key: true });

/** Parses the `keyTemplates` setting; an invalid template names its index and field. */
export function parseKeyTemplates(
  raw: readonly { prefix: string; template: Record<string, unknown> }[],
): KeyTemplate[] {
  return raw.map((entry, index) => {
    const parsed = TemplateSchema.safeParse(entry.template);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = ["keyTemplates", index, "template", ...(issue?.path ?? [])].join(".");
      throw new BatonError("VALIDATION_FAILED", `${where}: ${issue?.message ?? "invalid"}`, { field: where });
    }
    return { prefix: entry.prefix, template: parsed.data };
  });
}

/** What the caller may do, checked as the request goes: the transports pass their access rules in. */
export interface KeyCaller {
  /** Throws unless the caller may message this existing session. */
  mayMessage(session: Session): Promise<void>;
  /** Spawns as the caller (its owner, roots, parent rules). */
  spawn(config: SessionConfigInput): Promise<Session>;
}

/**
 * Sessions by key: one persistent conversation per chat, phone number or ticket. A message to a key goes to
 * the live session holding it (resumed if it was released; steered in while it works), or spawns one from
 * a template with the text as its prompt. Messages to one key are handled one at a time, and the store's
 * key table is the backstop, so two first messages that race still make one session.
 */
export class KeyedSessions {
  private readonly sessions: SessionService;
  private readonly templates: readonly KeyTemplate[];
  private readonly serial = new KeyedSerial();

  constructor(sessions: SessionService, templates: readonly KeyTemplate[]) {
    this.sessions = sessions;
    // Longest prefix first: "telegram:vip-" wins over "telegram:".
    this.templates = [...templates].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** True when a message to `key` can reach a session: one holds it, or a template would spawn one. */
  async accepts(key: string): Promise<boolean> {
    return this.templateFor(key) !== undefined || (await this.sessions.byKey(key)) !== undefined;
  }

  send(key: string, input: KeyMessageInput, caller: KeyCaller): Promise<KeyReceipt> {
    return this.serial.run(key, async () => {
      const holder = await this.sessions.byKey(key);
      if (holder) return this.deliver(holder, input, caller);
      const template = input.template ?? this.templateFor(key);
      if (!template) {
        throw new BatonError(
          "VALIDATION_FAILED",
          `template: no live session holds key "${key}" and no template was given or matches it (keyTemplates)`,
          { field: "template" },
        );
      }
      try {
        const session = await caller.spawn({ ...template, prompt: input.text, key });
        return { sessionId: session.id, created: true };
      } catch (error) {
        // Another node (or a caller outside this queue) took the key first: deliver to its session.
        const winner =
          error instanceof BatonError && error.code === "KEY_TAKEN"
            ? await this.sessions.byKey(key)
            : undefined;
        if (!winner) throw error;
        return this.deliver(winner, input, caller);
      }
    });
  }

  private templateFor(key: string): KeyTemplate["template"] | undefined {
    return this.templates.find((entry) => key.startsWith(entry.prefix))?.template;
  }

  private async deliver(session: Session, input: KeyMessageInput, caller: KeyCaller): Promise<KeyReceipt> {
    await caller.mayMessage(session);
    const mode = input.mode ?? (WORKING.includes(session.status) ? "steer" : "queue");
    const receipt = await this.sessions.send(session.id, {
      text: input.text,
      mode,
      ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
    });
    return { sessionId: session.id, created: false, messageId: receipt.messageId };
  }
}
