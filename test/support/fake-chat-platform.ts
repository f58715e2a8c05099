import { z } from 'zod';
import type { PlatformDescriptor } from '../../src/adapters/platform-descriptor.ts';
import type { Answer } from '../../src/core/answer.ts';
import type { QuestionContext, StatusIndicator, Surface } from '../../src/bot/surface.ts';
import { HttpError, sendJson } from '../../src/http/server.ts';

export const FAKE_CHAT_EVENTS_PATH = '/fakechat/events';

export interface FakeChatPost {
  channel: string;
  thread?: string;
  text: string;
  id: string;
}

/** What the fake platform's webhook accepts: one message a person wrote. */
const FakeChatEventSchema = z.object({
  id: z.string().min(1),
  channel: z.string().min(1),
  user: z.string().min(1),
  text: z.string(),
  thread: z.string().optional(),
});

/** The platform's side: every message the bot posts or edits, as plain markdown. */
class FakeChatSurface implements Surface<string> {
  readonly platform = 'fakechat';
  readonly timing = { statusDelayMs: 0, statusRefreshMs: 0, draftUpdateMs: 0 };
  readonly posts: FakeChatPost[] = [];

  render(answer: Answer): string[] {
    return [answer.text];
  }
  renderDraft(markdown: string): string {
    return markdown;
  }
  renderNotice(text: string): string {
    return text;
  }
  plainText(message: string): string {
    return message;
  }
  async post(where: { channel: string; thread?: string }, message: string): Promise<string> {
    const id = `fake-${this.posts.length + 1}`;
    this.posts.push({ ...where, text: message, id });
    return id;
  }
  async update(where: { channel: string; id: string }, message: string): Promise<void> {
    const post = this.posts.find((p) => p.id === where.id);
    if (post) post.text = message;
  }
  status(_question: QuestionContext): StatusIndicator {
    return { show: async () => undefined, clear: async () => undefined };
  }
}

/**
 * A chat platform that exists only in tests, added the way a real one is: a descriptor handed to
 * the same functions that take the registry. People "write" by POSTing JSON to its webhook on the
 * one HTTP server; what the bot posts is kept in `posts`.
 */
export function fakeChatPlatform(options: { configured?: boolean } = {}): {
  descriptor: PlatformDescriptor;
  posts: FakeChatPost[];
} {
  const surface = new FakeChatSurface();
  const descriptor: PlatformDescriptor = {
    name: surface.platform,
    title: 'Fake Chat',
    configured: () => options.configured ?? true,
    async start(deps, { receive, server }) {
      deps.conversation.attach(surface);
      server?.add({
        method: 'POST',
        path: FAKE_CHAT_EVENTS_PATH,
        handler: async ({ res, body }) => {
          const event = FakeChatEventSchema.safeParse(JSON.parse((await body()).toString('utf8')));
          if (!event.success) throw new HttpError(400, 'not a fake chat event');
          const { id, channel, user, text, thread } = event.data;
          void deps.conversation.receive(surface, {
            channel,
            thread: thread ?? id,
            messageId: id,
            user,
            text,
            isDirect: false,
            addressed: 'directly',
          });
          sendJson(res, 200, { ok: true });
        },
      });
      return {
        summary: `Fake Chat connected ${receive ? `with events on ${FAKE_CHAT_EVENTS_PATH}` : 'for posting only'}`,
        routes: server ? [FAKE_CHAT_EVENTS_PATH] : [],
        connected: () => true,
        stop: async () => undefined,
      };
    },
  };
  return { descriptor, posts: surface.posts };
}
