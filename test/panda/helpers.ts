import type { AgentContext, Route } from '../../src/agents/agent.ts';
import type { Config } from '../../src/config/schema.ts';
import { testConfig } from '../support/config.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { createPandaClient, type PandaClient } from '../../src/panda/client.ts';
import type { ChatModel } from '../../src/llm/chat-model.ts';

/** Config for monitor tests: fast timeouts and retries, everything else as shipped. */
export function monitorConfig(url: string, overrides: (c: Config) => void = () => undefined): Config {
  const env = {
    PANDA_MONITOR_URL: url,
    ASKPANDA_MONITOR_TIMEOUT_MS: '1500',
    ASKPANDA_MONITOR_MAX_RETRY_AFTER_SECONDS: '5',
  };
  return testConfig(env, overrides);
}

export function testClient(config: Config): PandaClient {
  return createPandaClient(config, { backoffMs: 20 });
}

export function context(
  route: Route,
  question: string,
  model: ChatModel = new OfflineModel(),
): AgentContext & { statuses: string[] } {
  const statuses: string[] = [];
  return {
    question,
    incoming: { platform: 'cli', channel: 'c', thread: 't', user: 'u', text: question, isDirect: true },
    history: [],
    route,
    model,
    progress: (s: string) => statuses.push(s),
    statuses,
  } as AgentContext & { statuses: string[] };
}
