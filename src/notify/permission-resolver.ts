/**
 * How a human's answer to a permission request reaches the session. Notify only calls it (Telegram's
 * Approve/Deny buttons); the sessions side implements it and the composition root hands it over with
 * `Notifier.setPermissionResolver`.
 */
export interface PermissionAnswer {
  behavior: "allow" | "deny";
  message?: string;
  /** Who answered, e.g. `telegram:alice`. */
  by: string;
}

export interface PermissionResolver {
  resolve(sessionIdOrName: string, requestId: string, answer: PermissionAnswer): Promise<void>;
}
