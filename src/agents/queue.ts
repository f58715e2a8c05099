import type { Logger } from 'pino';
import { errorDraft, type AnswerDraft } from '../core/answer.ts';
import { AskPandaError } from '../core/errors.ts';
import type { CricClient, QueueData } from '../panda/cric-client.ts';
import type { QueueIndex } from '../panda/queues.ts';
import { silentLogger } from '../util/log.ts';
import type { Agent, AgentContext } from './agent.ts';
import {
  clean,
  countsAnswer,
  detailAnswer,
  explainLimitsAnswer,
  listAnswer,
  multicoreAnswer,
  unknownAnswer,
  type QueuePages,
} from './queue-answers.ts';
import { healthAnswer, type HealthTargets } from './queue-health.ts';
import { rememberQueueNames } from './queue-names.ts';
import { buildQueuePrompt } from './queue-prompt.ts';
import { asksForSingleCore, readQuestion, type QueueQuestion } from './queue-question.ts';
import { isHealthQuestion } from './queue-words.ts';
import { refineWithModel } from './refine.ts';

export interface QueueAgentDeps {
  cric: CricClient;
  health: HealthTargets;
  /** BigPanDA base URL for people (site pages). */
  monitorPublicUrl: string;
  logger?: Logger;
}

/**
 * Answers questions about PanDA queues and sites from CRIC: one queue's status and limits, lists
 * and counts by status, site, cloud, country, resource type or copytool, whether a queue takes
 * multi-core jobs, unknown names with the closest ones, why jobs are killed for memory or time,
 * and whether PanDA itself is up. Offline answers are complete; a model only rewrites them.
 */
export class QueueAgent implements Agent {
  readonly kind = 'queue' as const;
  private readonly logger: Logger;
  private namesFrom?: QueueIndex;

  constructor(private readonly deps: QueueAgentDeps) {
    this.logger = deps.logger ?? silentLogger;
  }

  async handle(context: AgentContext): Promise<AnswerDraft> {
    const question = context.question.trim();
    if (isHealthQuestion(question)) return healthAnswer(this.deps.health, (status) => context.progress(status));
    context.progress('is reading the queue list from CRIC…');
    let data: QueueData;
    try {
      data = await this.deps.cric.queues();
    } catch (err) {
      if (err instanceof AskPandaError)
        return errorDraft('queue', err.kind, err.message, {
          links: [{ title: 'CRIC PanDA queues', url: this.deps.cric.listPage() }],
        });
      throw err;
    }
    if (this.namesFrom !== data.index) {
      rememberQueueNames(data.index.routingNames());
      this.namesFrom = data.index;
    }
    const asked = readQuestion(question, context.history, data.index);
    this.logger.debug({ kind: asked.kind }, 'queue question');
    const draft = this.answer(asked, data, question);
    draft.facts.cric = {
      source: this.deps.cric.source,
      ageSeconds: Math.round(data.ageMs / 1000),
      stale: data.stale,
      queues: data.index.size,
      skippedRecords: data.index.meta.skipped,
    };
    // The explanation of memory kills uses no queue data unless a queue was named.
    if (!(asked.kind === 'explain-limits' && !asked.queue))
      draft.sections.push({ title: 'Source', body: sourceNote(this.deps.cric, data) });
    if (data.stale) draft.summary = `${draft.summary}\n\n_${this.deps.cric.describe(data)}_`;
    if (context.model.offline || draft.error) return draft;
    return refineWithModel(context, buildQueuePrompt(question, draft, context.history), draft);
  }

  private answer(asked: QueueQuestion, data: QueueData, question: string): AnswerDraft {
    const index = data.index;
    const pages: QueuePages = { cric: this.deps.cric, monitorPublicUrl: this.deps.monitorPublicUrl };
    switch (asked.kind) {
      case 'detail':
        return detailAnswer(pages, asked.queue, index, asked.field);
      case 'multicore':
        return multicoreAnswer(pages, index, asked.queue, asked.site, asksForSingleCore(question));
      case 'list':
        return listAnswer(pages, index, asked.filter, asked.scope, asked.counts);
      case 'counts':
        return countsAnswer(pages, index, asked.filter, asked.scope);
      case 'site':
        return listAnswer(pages, index, { site: asked.site.name }, [`at site ${asked.site.name}`], false);
      case 'unknown':
        return unknownAnswer(pages, index, asked.name);
      case 'explain-limits':
        return explainLimitsAnswer(pages, asked.queue);
      case 'vague':
        return countsAnswer(pages, index, {}, [], true);
    }
  }
}

function sourceNote(cric: CricClient, data: QueueData): string {
  const lines = [cric.describe(data)];
  const meta = data.index.meta;
  if (meta.skipped)
    lines.push(
      `${meta.skipped} record${meta.skipped === 1 ? '' : 's'} of the dump could not be read and ` +
        `${meta.skipped === 1 ? 'was' : 'were'} left out ` +
        `(${meta.problems.slice(0, 2).map(clean).join('; ')}).`,
    );
  lines.push(
    "Status and limits are CRIC's configuration; live per-probe status (HammerCloud, blacklisting) is on the CRIC and monitor pages.",
  );
  return lines.join('\n');
}
