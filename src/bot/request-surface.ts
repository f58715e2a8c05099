import type { Answer } from '../core/answer.ts';
import type { StatusIndicator, Surface, SurfacePlatform, SurfaceTiming } from './surface.ts';

/** What the core posts on a request surface: the streamed draft, the answer, or a notice. */
export type Reply =
  { kind: 'draft'; markdown: string } | { kind: 'answer'; answer: Answer } | { kind: 'notice'; text: string };

/** Where a request surface sends what happens while its question is answered. */
export interface RequestListener {
  /** The thinking status ("is looking up job 6802258254…"): at once, then whenever it changes. */
  status?(text: string): void;
  /** The answer's markdown so far while a model writes it. Absent: the answer comes whole. */
  draft?(markdown: string): void;
}

/** Someone is waiting on the request: the status at once, never re-sent; every draft as it comes. */
export const REQUEST_TIMING: SurfaceTiming = { statusDelayMs: 0, statusRefreshMs: 0, draftUpdateMs: 0 };

/**
 * The surface of one request/response exchange (the terminal, `ask`, the web chat, /v1, MCP): the
 * conversation core shows its status and streams its draft here as on a chat platform, and the
 * Answer itself comes back from `Conversation.ask`, so posting the answer hands nothing over.
 */
export class RequestSurface implements Surface<Reply> {
  readonly renderDraft?: (markdown: string) => Reply;
  private posted = 0;

  constructor(
    readonly platform: SurfacePlatform,
    private readonly listener: RequestListener,
    readonly timing: SurfaceTiming = REQUEST_TIMING,
  ) {
    if (listener.draft) this.renderDraft = (markdown) => ({ kind: 'draft', markdown });
  }

  render(answer: Answer): Reply[] {
    return [{ kind: 'answer', answer }];
  }

  renderNotice(text: string): Reply {
    return { kind: 'notice', text };
  }

  plainText(reply: Reply): Reply {
    return reply;
  }

  async post(_where: { channel: string; thread?: string }, reply: Reply): Promise<string> {
    this.deliver(reply);
    return `reply-${++this.posted}`;
  }

  async update(_where: { channel: string; id: string }, reply: Reply): Promise<void> {
    this.deliver(reply);
  }

  status(): StatusIndicator {
    return { show: async (text) => this.listener.status?.(text), clear: async () => undefined };
  }

  private deliver(reply: Reply): void {
    // The answer (or the failure) reaches the caller as the result (or the error) of Conversation.ask.
    if (reply.kind === 'draft') this.listener.draft?.(reply.markdown);
  }
}
