import type { PlatformDescriptor } from '../platform-descriptor.ts';
import { SLACK_EVENTS_PATH } from './frames.ts';

export const slack: PlatformDescriptor = {
  name: 'slack',
  title: 'Slack',
  configured: (config) => Boolean(config.slack.botToken),
  async start(deps, { receive, server }) {
    const { SlackAdapter } = await import('./adapter.ts');
    const adapter = new SlackAdapter(deps, { server, ...(receive ? {} : { transport: 'posting' as const }) });
    const started = await adapter.start({ receive });
    const events = receive && started.transport === 'http';
    const how = !receive
      ? 'for posting only'
      : events
        ? `with HTTP events on ${SLACK_EVENTS_PATH}`
        : 'over Socket Mode';
    return {
      summary: `Slack connected ${how}${started.botUserId ? ` as ${started.botUserId}` : ''}`,
      routes: events ? [SLACK_EVENTS_PATH] : [],
      connected: () => adapter.connected,
      stop: () => adapter.stop(),
    };
  },
};
