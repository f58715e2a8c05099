import type { Config } from '../config/schema.ts';
import { mattermost } from './mattermost/descriptor.ts';
import type { PlatformDescriptor } from './platform-descriptor.ts';
import { slack } from './slack/descriptor.ts';

/** Every chat platform askpanda can run, one line each; start-up and replies list them in this order. */
export const CHAT_PLATFORMS: readonly PlatformDescriptor[] = [slack, mattermost];

/** The platforms whose settings are there to start them. */
export function configuredPlatforms(
  config: Config,
  platforms: readonly PlatformDescriptor[] = CHAT_PLATFORMS,
): PlatformDescriptor[] {
  return platforms.filter((platform) => platform.configured(config));
}
