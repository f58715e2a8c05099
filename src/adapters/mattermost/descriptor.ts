import type { PlatformDescriptor } from '../platform-descriptor.ts';
import { MATTERMOST_PATHS } from './callbacks.ts';

export const mattermost: PlatformDescriptor = {
  name: 'mattermost',
  title: 'Mattermost',
  configured: (config) => Boolean(config.mattermost.url && config.mattermost.token),
  async start(deps, { receive, server }) {
    const { MattermostAdapter } = await import('./adapter.ts');
    // The adapter adds its slash command and button routes to the server it is given.
    const adapter = new MattermostAdapter(deps, { server });
    const bot = await adapter.start({ receive });
    const slash = deps.config.mattermost.slashTokens.length
      ? `, slash command on ${MATTERMOST_PATHS.command}`
      : ', no slash command (MATTERMOST_SLASH_TOKEN unset)';
    const how = receive ? `over its websocket${slash}, buttons on ${MATTERMOST_PATHS.actions}` : 'for posting only';
    return {
      summary: `Mattermost connected as @${bot.username} ${how}`,
      routes: adapter.routes,
      connected: () => !receive || adapter.connected,
      stop: () => adapter.stop(),
    };
  },
};
