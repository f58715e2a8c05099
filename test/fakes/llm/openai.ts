import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  field,
  list,
  LlmFake,
  sendJson,
  type OfferedTools,
  type Protocol,
  type RecordedRequest,
  type Reply,
  type SentToolResult,
  type ToolsReply,
} from './server.ts';

type TextReply = Extract<Reply, { kind: 'text' }>;

/** How one chat completions API writes and checks tool calls. */
export interface CallDialect {
  newId: () => string;
  /** Ids the API accepts in a conversation (Mistral: nine letters and digits). */
  idRule?: RegExp;
  /** Arguments as a JSON object rather than a JSON string (Mistral sends either). */
  objectArguments?: boolean;
}

function modelOf(request: RecordedRequest): string {
  return String((request.body as { model?: unknown } | undefined)?.model ?? 'unknown');
}

function usage(reply: TextReply | ToolsReply) {
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
    private readonly dialect: CallDialect,
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

  sendToolCalls(response: ServerResponse, reply: ToolsReply, request: RecordedRequest): void {
    const toolCalls = reply.calls.map((call, index) => ({
      id: call.id ?? this.dialect.newId(),
      type: 'function',
      index,
      function: {
        name: call.name,
        arguments:
          typeof call.arguments === 'string' || this.dialect.objectArguments
            ? call.arguments
            : JSON.stringify(call.arguments),
      },
    }));
    sendJson(response, 200, {
      id: `${this.idPrefix}-${Date.now()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: modelOf(request),
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply.text ?? null, tool_calls: toolCalls, refusal: null },
          finish_reason: 'tool_calls',
          logprobs: null,
        },
      ],
      usage: usage(reply),
    });
  }

  offeredTools(request: RecordedRequest): OfferedTools {
    const choice = field(request.body, 'tool_choice');
    return {
      names: list(request.body, 'tools').map((tool) => String(field(field(tool, 'function'), 'name'))),
      ...(typeof choice === 'string'
        ? { choice: choice === 'any' ? 'required' : (choice as OfferedTools['choice']) }
        : {}),
    };
  }

  toolResults(request: RecordedRequest): SentToolResult[] {
    return list(request.body, 'messages')
      .filter((m) => field(m, 'role') === 'tool')
      .map((m) => ({
        callId: String(field(m, 'tool_call_id')),
        ...(typeof field(m, 'name') === 'string' ? { name: String(field(m, 'name')) } : {}),
        content: String(field(m, 'content')),
      }));
  }

  /**
   * The API's rules for tool turns: tool_choice only with tools; an assistant message's tool calls
   * are each answered by a `tool` message right after it, and a `tool` message answers one of them.
   */
  toolTurnError(request: RecordedRequest): string | undefined {
    if (field(request.body, 'tool_choice') !== undefined && list(request.body, 'tools').length === 0)
      return 'tool_choice is only allowed when tools are specified';
    let open: string[] = [];
    for (const message of list(request.body, 'messages')) {
      const role = field(message, 'role');
      if (role === 'tool') {
        const id = String(field(message, 'tool_call_id'));
        if (!open.includes(id)) return `a tool message answers ${id}, which no preceding tool call has`;
        open = open.filter((other) => other !== id);
        continue;
      }
      if (open.length > 0) return `tool calls without their results: ${open.join(', ')}`;
      if (role === 'assistant') {
        open = list(message, 'tool_calls').map((call) => String(field(call, 'id')));
        const bad = open.find((id) => this.dialect.idRule && !this.dialect.idRule.test(id));
        if (bad) return `tool call id ${bad} does not match ${this.dialect.idRule}`;
      }
    }
    return undefined;
  }
}

export function openaiFake(): LlmFake {
  return new LlmFake(
    new ChatCompletionsProtocol(
      'openai',
      'chatcmpl',
      (status, message) => ({
        error: {
          message,
          type: status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error',
          param: null,
          code: null,
        },
      }),
      { newId: () => `call_${randomUUID().replaceAll('-', '').slice(0, 24)}` },
    ),
  );
}
