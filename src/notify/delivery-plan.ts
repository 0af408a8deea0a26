import type { BatonEvent } from "../events/catalogue.ts";
import { matchesAny } from "../events/topic-filter.ts";
import type { SessionConfig } from "../sessions/session-schema.ts";
import type { DeliveryChannel } from "./channel.ts";
import { renderNotificationText, type SessionSummary } from "./message-text.ts";

/**
 * Which deliveries one event causes. Pure: the dispatcher feeds it an event, the session it belongs to and
 * the settings, and writes what it returns to the outbox in one transaction.
 */

/** What `notify` channels report: the moments a human may want to act on. */
export const NOTIFY_TOPICS: readonly string[] = [
  "session.completed",
  "session.failed",
  "session.idle",
  "session.permission_requested",
  /** Parked at a usage limit or a refused credential (an auth failure needs a human). */
  "session.parked",
];
/** What per-session webhooks may subscribe to (lifecycle steps, never per-tool chatter). */
export const WEBHOOK_TOPICS: readonly string[] = [
  ...NOTIFY_TOPICS,
  "session.spawned",
  "session.resumed",
  "session.killed",
  "session.permission_resolved",
  "session.unparked",
];
export const CALLBACK_TOPICS: readonly string[] = ["session.completed", "session.failed"];
/** Every topic the dispatcher reads from the log. */
export const DISPATCH_TOPICS: readonly string[] = WEBHOOK_TOPICS;

export interface PlanSession extends SessionSummary {
  owner: string;
  runIdentifier: string | null;
  config: Pick<SessionConfig, "notify" | "webhooks">;
}

export interface PlanSettings {
  callbackUrlTemplate: string | undefined;
  notifyDefaults: readonly { channel: "telegram" | "slack" | "webhook" | "bus"; target: string }[];
}

export type PlannedDelivery =
  | { channel: DeliveryChannel; target: string; endpoint: string; payload: unknown }
  | { channel: "bus"; target: string; data: Record<string, unknown> };

export function planDeliveries(
  event: BatonEvent,
  session: PlanSession,
  settings: PlanSettings,
): PlannedDelivery[] {
  const planned: PlannedDelivery[] = [];
  const seen = new Set<string>();
  const add = (delivery: PlannedDelivery) => {
    const key = delivery.channel === "bus" ? `bus:${delivery.target}` : delivery.endpoint;
    if (seen.has(key)) return;
    seen.add(key);
    planned.push(delivery);
  };

  if (CALLBACK_TOPICS.includes(event.topic) && session.runIdentifier && settings.callbackUrlTemplate) {
    const url = callbackUrl(settings.callbackUrlTemplate, session.runIdentifier, session.id);
    add({
      channel: "callback",
      target: url,
      endpoint: `callback:${url}`,
      payload: callbackBody(event, session),
    });
  }

  for (const webhook of session.config.webhooks ?? []) {
    const wanted = webhook.events && webhook.events.length > 0 ? webhook.events : NOTIFY_TOPICS;
    if (!WEBHOOK_TOPICS.includes(event.topic) || !matchesAny(wanted, event.topic)) continue;
    add({
      channel: "webhook",
      target: webhook.url,
      endpoint: `webhook:${webhook.url}`,
      payload: webhookBody(event, session),
    });
  }

  if (!NOTIFY_TOPICS.includes(event.topic)) return planned;
  const targets = session.config.notify ? [session.config.notify] : settings.notifyDefaults;
  const text = renderNotificationText(event, session);
  for (const { channel, target } of targets) {
    if (channel === "bus") {
      add({ channel: "bus", target, data: { ...notificationFacts(event, session), target, text } });
    } else if (channel === "webhook") {
      const body = webhookBody(event, session, text);
      add({ channel: "webhook", target, endpoint: `webhook:${target}`, payload: body });
    } else if (channel === "slack") {
      add({ channel: "slack", target, endpoint: `slack:${target}`, payload: { text } });
    } else {
      const requestId = event.topic === "session.permission_requested" ? event.data.requestId : undefined;
      const payload = {
        text,
        sessionId: session.id,
        ...(typeof requestId === "string" ? { permission: { requestId } } : {}),
      };
      add({ channel: "telegram", target, endpoint: `telegram:${target}`, payload });
    }
  }
  return planned;
}

export function callbackUrl(template: string, runIdentifier: string, sessionId: string): string {
  return template
    .replaceAll("{runIdentifier}", encodeURIComponent(runIdentifier))
    .replaceAll("{sessionId}", encodeURIComponent(sessionId));
}

function notificationFacts(event: BatonEvent, session: PlanSession): Record<string, unknown> {
  return {
    eventSeq: event.seq,
    eventTopic: event.topic,
    sessionId: session.id,
    sessionName: session.name,
    owner: session.owner,
    ...(session.runIdentifier ? { runIdentifier: session.runIdentifier } : {}),
  };
}

/** Standard Webhooks body shape: `{type, timestamp, data}`. */
function webhookBody(event: BatonEvent, session: PlanSession, text?: string): Record<string, unknown> {
  return {
    type: event.topic,
    timestamp: event.ts,
    data: { ...notificationFacts(event, session), ...event.data, ...(text ? { text } : {}) },
  };
}

/** What a pipeline needs to move a run on: the outcome, its summary, what it cost. */
function callbackBody(event: BatonEvent, session: PlanSession): Record<string, unknown> {
  const completed = event.topic === "session.completed";
  const data = event.data;
  return {
    type: completed ? "run.stage_completed" : "run.stage_failed",
    timestamp: event.ts,
    data: {
      runIdentifier: session.runIdentifier,
      sessionId: session.id,
      sessionName: session.name,
      status: completed ? "completed" : "failed",
      summary: completed ? (data.result ?? "") : (data.error ?? ""),
      costUsd: data.costUsd ?? null,
      turns: data.turns ?? null,
      ...(completed ? {} : { error: data.error, reason: data.reason }),
      eventSeq: event.seq,
    },
  };
}
