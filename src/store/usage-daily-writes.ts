import type { Executor, UsageTurnsTable } from "./schema.ts";

/** Adds turn rows to the day roll-ups; runs in the transaction that inserts the rows themselves. */
export async function addToDailyRollups(tx: Executor, rows: readonly UsageTurnsTable[]): Promise<void> {
  for (const row of rows) {
    const day = row.ended_at.slice(0, 10);
    const sums = {
      cost_usd: row.cost_usd,
      input_tokens: row.input_tokens,
      output_tokens: row.output_tokens,
      cache_read_tokens: row.cache_read_tokens,
      cache_write_tokens: row.cache_write_tokens,
      turns: row.first_of_turn,
      model_turns: 1,
    };
    const key = { day, owner: row.owner, root_session_id: row.root_session_id, model: row.model };
    await tx
      .insertInto("usage_daily")
      .values({ ...key, ...sums })
      .onConflict((conflict) =>
        conflict.columns(["day", "owner", "root_session_id", "model"]).doUpdateSet((eb) => ({
          cost_usd: eb("usage_daily.cost_usd", "+", sums.cost_usd),
          input_tokens: eb("usage_daily.input_tokens", "+", sums.input_tokens),
          output_tokens: eb("usage_daily.output_tokens", "+", sums.output_tokens),
          cache_read_tokens: eb("usage_daily.cache_read_tokens", "+", sums.cache_read_tokens),
          cache_write_tokens: eb("usage_daily.cache_write_tokens", "+", sums.cache_write_tokens),
          turns: eb("usage_daily.turns", "+", sums.turns),
          model_turns: eb("usage_daily.model_turns", "+", 1),
        })),
      )
      .execute();
    await tx
      .insertInto("usage_daily_sessions")
      .values({ ...key, session_id: row.session_id })
      .onConflict((conflict) =>
        conflict.columns(["day", "session_id", "model", "owner", "root_session_id"]).doNothing(),
      )
      .execute();
  }
}
