import type { Writable } from 'node:stream';

/**
 * How digests leave the process. The runner posts through this interface only and never knows
 * which platform is behind it; the conversation core implements it for Slack and Mattermost
 * (see wiring.ts, the one place where that happens).
 */

/** Where a digest goes: the channel the subscription was made in. */
export interface DigestTarget {
  /** Incoming.platform of the subscribing message: "slack", "mattermost", "cli", "console". */
  platform: string;
  /** The platform's channel id (Slack C…/D…, Mattermost channel id). */
  channel: string;
}

/** One digest for one channel, in the bot's common markdown (the same dialect as Answer.text). */
export interface DigestMessage {
  /** The channel message, readable in 30 seconds; at most DIGEST_LIMITS.messageChars code points. */
  markdown: string;
  /**
   * Replies to post in the thread of that message, in order (a channel with many tasks: the full
   * breakdown per task); each at most DIGEST_LIMITS.messageChars code points. Often empty.
   */
  details: string[];
}

export interface DigestPoster {
  /**
   * Posts the message to the channel and its details as replies in its thread. Resolves with the
   * platform id of the channel message once it is posted; rejects when the platform refused it
   * (the runner retries on a later tick).
   */
  post(target: DigestTarget, message: DigestMessage): Promise<{ messageId: string }>;
  /**
   * Whether this poster can reach the target at all. When false the runner leaves the subscription
   * due (unclaimed), to be posted, combined, once a poster for its platform is configured.
   * Omitted: every target.
   */
  canPost?(target: DigestTarget): boolean;
}

/**
 * Sizes every surface takes in one message: Slack's Block Kit section (3,000 characters) is the
 * smallest; Mattermost allows 16,383 (4,000 on old servers). Counted in code points.
 */
export const DIGEST_LIMITS = { messageChars: 3000 } as const;

/** Routes each target to the poster of its platform. */
export class PlatformPosters implements DigestPoster {
  constructor(private readonly byPlatform: Readonly<Record<string, DigestPoster | undefined>>) {}

  get platforms(): string[] {
    return Object.entries(this.byPlatform)
      .filter(([, poster]) => poster)
      .map(([name]) => name);
  }

  canPost(target: DigestTarget): boolean {
    const poster = this.byPlatform[target.platform];
    return Boolean(poster) && (poster!.canPost?.(target) ?? true);
  }

  post(target: DigestTarget, message: DigestMessage): Promise<{ messageId: string }> {
    const poster = this.byPlatform[target.platform];
    if (!poster) return Promise.reject(new Error(`no digest poster for ${target.platform}`));
    return poster.post(target, message);
  }
}

/**
 * Digests of subscriptions made in a terminal (`askpanda ask`, `askpanda chat`): printed, so a
 * system cron job running `askpanda digest run` mails them like any cron output.
 */
export class TerminalPoster implements DigestPoster {
  private count = 0;
  constructor(private readonly output: Writable) {}

  async post(target: DigestTarget, message: DigestMessage): Promise<{ messageId: string }> {
    const parts = [message.markdown, ...message.details.map((d) => `--- in the thread ---\n${d}`)];
    this.output.write(`${parts.join('\n\n')}\n\n`);
    this.count++;
    return { messageId: `${target.platform}:${Date.now()}:${this.count}` };
  }
}
