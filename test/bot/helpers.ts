import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Bot } from '../../src/bot/bot.ts';
import { emptyDraft } from '../../src/core/answer.ts';
import type { Incoming } from '../../src/core/incoming.ts';
import { ThreadHistory } from '../../src/bot/thread-history.ts';
import type { Agent, AgentContext, Route } from '../../src/agents/agent.ts';
import { loadConfig } from '../../src/load-config.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { type Store } from '../../src/storage/store.ts';
import { openStore } from '../../src/storage/open-store.ts';

/** An agent that answers with the route it was given, so tests can see where a question went. */
export class RouteEchoAgent implements Agent {
  readonly seen: AgentContext[] = [];
  constructor(readonly kind: Route['agent']) {}
  async handle(context: AgentContext) {
    this.seen.push(context);
    const draft = emptyDraft(this.kind, `${this.kind} agent: ${JSON.stringify(context.route)}`);
    if (context.route.pandaid) draft.facts.pandaid = context.route.pandaid;
    if (context.route.jeditaskid) draft.facts.jeditaskid = context.route.jeditaskid;
    return draft;
  }
}

export async function botWithEchoAgents(
  env: Record<string, string> = {},
): Promise<{ bot: Bot; store: Store; agents: Record<Route['agent'], RouteEchoAgent> }> {
  const config = loadConfig({ env: { ASKPANDA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'askpanda-bot-')), ...env } });
  const store = await openStore(config);
  const agents = {
    job: new RouteEchoAgent('job'),
    task: new RouteEchoAgent('task'),
    queue: new RouteEchoAgent('queue'),
    documents: new RouteEchoAgent('documents'),
    error_code: new RouteEchoAgent('error_code'),
    general: new RouteEchoAgent('general'),
  };
  const bot = new Bot({
    config,
    history: new ThreadHistory(store.ns('history'), config.history),
    model: new OfflineModel(),
    agents,
  });
  return { bot, store, agents };
}

export function message(text: string, thread = 't1', extra: Partial<Incoming> = {}): Incoming {
  return { platform: 'slack', channel: 'C0123', thread, user: 'U042', text, isDirect: false, ...extra };
}
