import { z } from 'zod';

/** One turn of a thread as kept in storage: enough to route follow-ups, small enough to budget. */
export const TurnSchema = z.object({
  role: z.enum(['user', 'assistant']),
  text: z.string(),
  agent: z.string().optional(),
  /** Ids the turn was about, so "how can I fix it?" finds the job again. */
  pandaid: z.number().int().optional(),
  jeditaskid: z.number().int().optional(),
  at: z.number(),
});
export type Turn = z.infer<typeof TurnSchema>;
export const TurnsSchema = z.array(TurnSchema);
