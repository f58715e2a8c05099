import type { PlatformDeps } from '../bot/platform-deps.ts';
import type { Config } from '../config/schema.ts';
import type { HttpServer } from '../http/server.ts';

/**
 * A chat platform as the rest of askpanda sees it: one folder under src/adapters exports one, and
 * registry.ts lists it. Start-up, readiness, the route list, digests and `subscribe` learn the
 * platform from here. A descriptor loads no platform SDK: `start` imports the adapter when the
 * platform is configured.
 */
export interface PlatformDescriptor {
  /**
   * Incoming.platform of its messages and the first part of its thread, claim and subscription keys
   * ("slack"): renaming one in use orphans what is stored under the old name.
   */
  readonly name: string;
  /** How people call it in start-up lines and replies: "Slack". */
  readonly title: string;
  /** Whether the configuration has what it needs to start (its token, its server). */
  configured(config: Config): boolean;
  /**
   * Connects the platform to the conversation core; throws with one line for the operator when it
   * cannot. Receiving (`askpanda serve`): questions come in, and its HTTP callbacks become routes on
   * `server`. Posting only: it can post, and takes no events and adds no routes.
   */
  start(deps: PlatformDeps, context: PlatformContext): Promise<StartedPlatform>;
}

export interface PlatformContext {
  receive: boolean;
  /** The one inbound HTTP server (src/http/server.ts), when receiving. */
  server?: HttpServer;
}

export interface StartedPlatform {
  /** One line for start-up: "Slack connected over Socket Mode as U…". */
  summary: string;
  /** Paths of the routes it added to the server, for the start-up list of routes. */
  routes: readonly string[];
  /** For /readyz. */
  connected(): boolean;
  /** Stops taking events (answers in progress are the conversation core's to finish). */
  stop(): Promise<void>;
}
