import type { FetchPaginatedThreadOptions } from '@mattermost/types/client4';
import type { Post } from '@mattermost/types/posts';
import { z } from 'zod';
import type { Logger } from '../../util/log.ts';
import { BoundedClient4, type ClientLimits } from './bounded-client4.ts';
import { apiError, describeError, MattermostApiError, MattermostStartError, startError } from './errors.ts';
import { ChannelTypeSchema, PostSchema, type MattermostPost } from './events.ts';
import type { ResyncChannel, ResyncSource } from './resync.ts';

/**
 * The REST calls the bot makes, each answer checked with zod before anyone reads it: the token
 * check and post limit at start, posting and patching answers, typing and reactions while one is
 * written, threads for context, and the channel and page reads a resync needs. Failures are
 * MattermostApiError (at start: MattermostStartError).
 */

/** The identity the token belongs to. */
export interface MattermostBot {
  id: string;
  username: string;
  isBot: boolean;
}

/** The old-schema limit: what to assume when the server does not say. */
export const FALLBACK_MAX_POST_SIZE = 4000;
const THREAD_MAX_POSTS = 200;

const UserSchema = z.object({ id: z.string().min(1), username: z.string().min(1), is_bot: z.boolean().optional() });
const TeamsSchema = z.array(z.object({ id: z.string().min(1) }));
const ChannelsSchema = z.array(
  z.object({
    id: z.string().min(1),
    type: z.string(),
    team_id: z.string().default(''),
    last_post_at: z.number().default(0),
    delete_at: z.number().default(0),
  }),
);
const PostListSchema = z.object({
  order: z.array(z.string()),
  posts: z.record(z.string(), z.unknown()),
  has_next: z.boolean().optional(),
});
const ClientConfigSchema = z.object({ MaxPostSize: z.string().optional() });

/** The base URL without trailing slashes or `/api/v4`; undefined when it is not http(s). */
export function normalizeBaseUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api\/v4$/, '');
  return `${url.origin}${path}`;
}

export interface RestSettings extends ClientLimits {
  /** normalizeBaseUrl's result: undefined leaves the client without a server (start fails first). */
  baseUrl: string | undefined;
  token: string;
}

export class MattermostRest implements ResyncSource {
  private readonly client: BoundedClient4;
  private me: MattermostBot | undefined;
  private postLimit = FALLBACK_MAX_POST_SIZE;

  constructor(
    private readonly settings: RestSettings,
    private readonly logger: Logger,
  ) {
    this.client = new BoundedClient4({ timeoutMs: settings.timeoutMs, maxRetryAfterMs: settings.maxRetryAfterMs });
    if (settings.baseUrl) this.client.setUrl(settings.baseUrl);
    this.client.setToken(settings.token);
    this.client.setIncludeCookies(false);
    this.client.setUserAgent('askpanda (+@mattermost/client)');
  }

  /** The bot's identity; available after `identify()`. */
  get bot(): MattermostBot {
    if (!this.me) throw new Error('MattermostConnection: start() has not completed');
    return this.me;
  }

  /** The server's post limit in code points, read once at start. */
  get maxPostSize(): number {
    return this.postLimit;
  }

  /** Checks the token and reads the post limit; throws MattermostStartError with one line for the operator. */
  async identify(base: string): Promise<MattermostBot> {
    this.me = await this.checkToken(base);
    this.postLimit = await this.readMaxPostSize();
    return this.me;
  }

  /** A new post; a reply when `rootId` is set (the thread's root id). */
  async createPost(input: {
    channelId: string;
    rootId?: string;
    message: string;
    props?: Record<string, unknown>;
  }): Promise<MattermostPost> {
    const body: Partial<Post> = { channel_id: input.channelId, root_id: input.rootId ?? '', message: input.message };
    if (input.props) body.props = input.props;
    const created = await this.call('createPost', () => this.client.createPost(body as Post));
    return this.checked('createPost', PostSchema, created);
  }

  /** Changes a post's message and/or props (every edit shows "Edited": throttle streaming). */
  async patchPost(
    postId: string,
    patch: { message?: string; props?: Record<string, unknown> },
  ): Promise<MattermostPost> {
    const patched = await this.call('patchPost', () =>
      this.client.patchPost({ id: postId, ...patch } as Partial<Post> & { id: string }),
    );
    return this.checked('patchPost', PostSchema, patched);
  }

  /** "askpanda is typing…" in a channel or, with `parentId`, in a thread; lasts a few seconds. */
  async sendTyping(channelId: string, parentId = ''): Promise<void> {
    await this.call('publishUserTyping', () => this.client.publishTyping(this.bot.id, channelId, parentId));
  }

  async addReaction(postId: string, emojiName: string): Promise<void> {
    await this.call('addReaction', () => this.client.addReaction(this.bot.id, postId, emojiName));
  }

  async removeReaction(postId: string, emojiName: string): Promise<void> {
    await this.call('removeReaction', () => this.client.removeReaction(this.bot.id, postId, emojiName));
  }

  /**
   * A thread oldest first, root included: the newest `maxPosts` replies (default 50, at most 200).
   * `truncated` says older replies were left out.
   */
  async readThread(
    postId: string,
    options: { maxPosts?: number } = {},
  ): Promise<{ posts: MattermostPost[]; truncated: boolean }> {
    const perPage = Math.max(1, Math.min(THREAD_MAX_POSTS, options.maxPosts ?? 50));
    const query: FetchPaginatedThreadOptions = {
      fetchThreads: true,
      collapsedThreads: false,
      direction: 'up',
      perPage,
    };
    const list = this.checked(
      'getPostThread',
      PostListSchema,
      await this.call('getPostThread', () => this.client.getPaginatedPostThread(postId, query)),
    );
    return { posts: this.postsOf('getPostThread', list), truncated: list.has_next === true };
  }

  /**
   * A message only `userId` sees. Returns false when the server refuses (403: the bot lacks the
   * `create_post_ephemeral` permission, as bot accounts often do); other failures throw.
   */
  async postEphemeral(
    userId: string,
    input: { channelId: string; rootId?: string; message: string },
  ): Promise<boolean> {
    try {
      await this.call('createPostEphemeral', () =>
        this.client.createPostEphemeral(userId, {
          channel_id: input.channelId,
          root_id: input.rootId ?? '',
          message: input.message,
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof MattermostApiError && err.status === 403) return false;
      throw err;
    }
  }

  async getUser(userId: string): Promise<MattermostBot> {
    const user = this.checked('getUser', UserSchema, await this.call('getUser', () => this.client.getUser(userId)));
    return { id: user.id, username: user.username, isBot: user.is_bot ?? false };
  }

  // ------------------------------------------------------------------ resync reads

  /** Every channel of every team the bot is in (DMs and group messages come with each team: once). */
  async listChannels(): Promise<ResyncChannel[]> {
    const teams = this.checked(
      'getMyTeams',
      TeamsSchema,
      await this.call('getMyTeams', () => this.client.getMyTeams()),
    );
    const channels = new Map<string, ResyncChannel>();
    for (const team of teams) {
      const list = this.checked(
        'getMyChannels',
        ChannelsSchema,
        await this.call('getMyChannels', () => this.client.getMyChannels(team.id)),
      );
      for (const channel of list) {
        if (channel.delete_at > 0) continue;
        const type = ChannelTypeSchema.safeParse(channel.type);
        channels.set(channel.id, {
          id: channel.id,
          type: type.success ? type.data : undefined,
          lastPostAt: channel.last_post_at,
        });
      }
    }
    return [...channels.values()];
  }

  /**
   * One page of a channel, newest first. Only the posts `order` lists belong to the page: the map
   * also carries thread roots (old posts, never to be answered again), left out here.
   */
  async readPage(channelId: string, page: number, perPage: number): Promise<MattermostPost[]> {
    const list = this.checked(
      'getPosts',
      PostListSchema,
      await this.call('getPosts', () => this.client.getPosts(channelId, page, perPage, false)),
    );
    const posts: MattermostPost[] = [];
    for (const id of list.order) {
      const post = PostSchema.safeParse(list.posts[id]);
      if (post.success) posts.push(post.data);
      else this.logger.warn({ route: 'getPosts' }, 'Mattermost returned a malformed post; skipped');
    }
    return posts.sort((a, b) => b.create_at - a.create_at);
  }

  // ------------------------------------------------------------------ start

  private async checkToken(base: string): Promise<MattermostBot> {
    let raw: unknown;
    try {
      raw = await this.client.getMe();
    } catch (err) {
      throw startError(err, base, this.settings.timeoutMs);
    }
    const user = UserSchema.safeParse(raw);
    if (!user.success) {
      throw new MattermostStartError(
        'not_mattermost',
        `${base} did not answer like a Mattermost server (GET /api/v4/users/me returned no user): check MATTERMOST_URL`,
      );
    }
    if (user.data.is_bot === false)
      this.logger.warn(
        { username: user.data.username },
        'MATTERMOST_TOKEN belongs to a person, not a bot account: answers will appear as that person',
      );
    return { id: user.data.id, username: user.data.username, isBot: user.data.is_bot ?? false };
  }

  private async readMaxPostSize(): Promise<number> {
    try {
      const config = ClientConfigSchema.safeParse(await this.client.getClientConfig());
      const size = config.success ? Number(config.data.MaxPostSize) : Number.NaN;
      if (Number.isInteger(size) && size > 0) return size;
      this.logger.warn('Mattermost did not report MaxPostSize; assuming the old limit of 4000 characters');
    } catch (err) {
      this.logger.warn(
        { err: describeError(err) },
        'could not read Mattermost MaxPostSize; assuming the old limit of 4000 characters',
      );
    }
    return FALLBACK_MAX_POST_SIZE;
  }

  // ------------------------------------------------------------------ plumbing

  /** Posts of a post list, each checked (a bad one is skipped), oldest first. */
  private postsOf(route: string, list: z.infer<typeof PostListSchema>): MattermostPost[] {
    const posts: MattermostPost[] = [];
    for (const raw of Object.values(list.posts)) {
      const post = PostSchema.safeParse(raw);
      if (post.success) posts.push(post.data);
      else this.logger.warn({ route }, 'Mattermost returned a malformed post; skipped');
    }
    return posts.sort((a, b) => a.create_at - b.create_at);
  }

  private checked<T>(route: string, schema: z.ZodType<T>, value: unknown): T {
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new MattermostApiError(
        route,
        200,
        'unexpected_response',
        `Mattermost ${route} answered something unexpected (${parsed.error.issues[0]?.path.join('.') || 'shape'})`,
      );
    return parsed.data;
  }

  /** Runs one Client4 call, turning its failures into MattermostApiError. */
  private async call<T>(route: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw apiError(route, err);
    }
  }
}
