import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/load-config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Manifest {
  display_information: { name: string; long_description: string };
  features: {
    bot_user: { display_name: string };
    slash_commands: Array<{ command: string }>;
    assistant_view: { suggested_prompts: Array<{ title: string; message: string }> };
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    event_subscriptions: { bot_events: string[] };
    interactivity: { is_enabled: boolean };
    socket_mode_enabled: boolean;
  };
}

describe('config/slack-app-manifest.yaml', () => {
  const manifest = parse(readFileSync(path.join(ROOT, 'config/slack-app-manifest.yaml'), 'utf8')) as Manifest;

  it('subscribes to every event and grants every scope the adapter uses', () => {
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(
      expect.arrayContaining(['app_mention', 'message.im', 'message.channels', 'message.groups']),
    );
    // chat.postMessage/update, slash command, conversations.replies, reactions.add/remove, assistant.threads.setStatus
    expect(manifest.oauth_config.scopes.bot).toEqual(
      expect.arrayContaining([
        'app_mentions:read',
        'chat:write',
        'commands',
        'im:history',
        'channels:history',
        'groups:history',
        'reactions:write',
        'assistant:write',
      ]),
    );
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });

  it('names the bot and its slash command after bot.name, and Slack accepts its description length', () => {
    const name = loadConfig({ env: {} }).bot.name;
    expect(manifest.features.bot_user.display_name).toBe(name);
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual([`/${name}`]);
    // Slack refuses a long_description under 174 characters or over 4,000
    expect(manifest.display_information.long_description.length).toBeGreaterThanOrEqual(174);
    expect(manifest.display_information.long_description.length).toBeLessThanOrEqual(4000);
  });
});
