import { z } from 'zod';

/** The ids several tools take, with the sentence a caller sees for a wrong one. */
export const pandaid = z
  .number({ error: 'expected a PanDA job id, a whole number such as 6802258254' })
  .int({ error: 'expected a PanDA job id, a whole number such as 6802258254' })
  .positive({ error: 'expected a PanDA job id, a whole number such as 6802258254' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'expected a PanDA job id of at most 15 digits' })
  .describe('PanDA job id (pandaid), e.g. 6802258254');

export const jeditaskid = z
  .number({ error: 'expected a JEDI task id, a whole number such as 46374283' })
  .int({ error: 'expected a JEDI task id, a whole number such as 46374283' })
  .positive({ error: 'expected a JEDI task id, a whole number such as 46374283' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'expected a JEDI task id of at most 15 digits' })
  .describe('JEDI task id (jeditaskid), e.g. 46374283');
