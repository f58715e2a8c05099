import type { ServerResponse } from 'node:http';
import { LlmFake, sendJson, type Protocol, type RecordedRequest, type Reply } from './server.ts';

type TextReply = Extract<Reply, { kind: 'text' }>;

function modelOf(request: RecordedRequest): string {
  return String((request.body as { model?: unknown } | undefined)?.model ?? 'unknown');
}

function usage(reply: TextReply) {
  const prompt = reply.inputTokens ?? 120;
  const completion = reply.outputTokens ?? 40;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/**
 * The chat completions protocol (POST /v1/chat/completions) shared by OpenAI and Mistral: JSON, or
 * SSE `data: {chunk}` lines ending with `data: [DONE]`. `object`, `created`, `index` and
 * `finish_reason` are always present because Mistral's SDK rejects responses without them.
 */
export class ChatCompletionsProtocol implements Protocol {
  constructor(
    readonly name: string,
    private readonly idPrefix: string,
    private readonly errorBodyOf: (status: number, message: string) => unknown,
  ) {}

  matches(method: string, path: string): boolean {
    return method === 'POST' && path.split('?')[0] === '/v1/chat/completions';
  }

  isStream(request: RecordedRequest): boolean {
    return (request.body as { stream?: unknown } | undefined)?.stream === true;
  }

  sendText(response: ServerResponse, reply: TextReply, request: RecordedRequest): void {
    sendJson(response, 200, {
      id: `${this.idPrefix}-${Date.now()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: modelOf(request),
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply.text, refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: usage(reply),
    });
  }

  private chunk(
    request: RecordedRequest,
    delta: Record<string, unknown>,
    finish: string | null,
    extra: Record<string, unknown> = {},
  ) {
    return {
      id: `${this.idPrefix}-stream`,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: modelOf(request),
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      ...extra,
    };
  }

  startStream(response: ServerResponse, parts: string[], request: RecordedRequest): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.write(`data: ${JSON.stringify(this.chunk(request, { role: 'assistant', content: '' }, null))}\n\n`);
    for (const part of parts) response.write(this.streamDelta(part, request));
  }

  streamDelta(piece: string, request: RecordedRequest): string {
    return `data: ${JSON.stringify(this.chunk(request, { content: piece }, null))}\n\n`;
  }

  sendStream(response: ServerResponse, parts: string[], reply: TextReply, request: RecordedRequest): void {
    this.startStream(response, parts, request);
    const wantsUsage = (request.body as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage;
    // OpenAI sends usage in an extra chunk with no choices; Mistral puts it on the last chunk.
    if (wantsUsage) {
      response.write(`data: ${JSON.stringify(this.chunk(request, {}, 'stop'))}\n\n`);
      response.write(
        `data: ${JSON.stringify({ ...this.chunk(request, {}, null), choices: [], usage: usage(reply) })}\n\n`,
      );
    } else {
      response.write(
        `data: ${JSON.stringify(this.chunk(request, { content: '' }, 'stop', { usage: usage(reply) }))}\n\n`,
      );
    }
    response.end('data: [DONE]\n\n');
  }

  errorBody(status: number, message: string): unknown {
    return this.errorBodyOf(status, message);
  }
}

export function openaiFake(): LlmFake {
  return new LlmFake(
    new ChatCompletionsProtocol('openai', 'chatcmpl', (status, message) => ({
      error: {
        message,
        type: status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error',
        param: null,
        code: null,
      },
    })),
  );
}
