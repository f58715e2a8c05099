import { randomBytes } from 'node:crypto';
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

function modelOf(request: RecordedRequest): string {
  return String((request.body as { model?: unknown } | undefined)?.model ?? 'unknown');
}

function frame(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

function event(response: ServerResponse, name: string, data: unknown): void {
  response.write(frame(name, data));
}

/** The Messages API: POST /v1/messages, JSON or named SSE events (message_start … message_stop). */
class MessagesProtocol implements Protocol {
  readonly name = 'anthropic';

  matches(method: string, path: string): boolean {
    return method === 'POST' && path.split('?')[0] === '/v1/messages';
  }

  isStream(request: RecordedRequest): boolean {
    return (request.body as { stream?: unknown } | undefined)?.stream === true;
  }

  sendText(response: ServerResponse, reply: TextReply, request: RecordedRequest): void {
    sendJson(response, 200, {
      id: 'msg_01FakeLoopback',
      type: 'message',
      role: 'assistant',
      model: modelOf(request),
      content: [{ type: 'text', text: reply.text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: reply.inputTokens ?? 120, output_tokens: reply.outputTokens ?? 40 },
    });
  }

  startStream(response: ServerResponse, parts: string[], request: RecordedRequest, inputTokens = 120): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    event(response, 'message_start', {
      type: 'message_start',
      message: {
        id: 'msg_01FakeLoopback',
        type: 'message',
        role: 'assistant',
        model: modelOf(request),
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: 1 },
      },
    });
    event(response, 'content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    });
    event(response, 'ping', { type: 'ping' });
    for (const part of parts) response.write(this.streamDelta(part));
  }

  streamDelta(piece: string): string {
    return frame('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: piece },
    });
  }

  sendStream(response: ServerResponse, parts: string[], reply: TextReply, request: RecordedRequest): void {
    this.startStream(response, parts, request, reply.inputTokens ?? 120);
    event(response, 'content_block_stop', { type: 'content_block_stop', index: 0 });
    event(response, 'message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: reply.outputTokens ?? 40 },
    });
    event(response, 'message_stop', { type: 'message_stop' });
    response.end();
  }

  errorBody(status: number, message: string): unknown {
    const type =
      status === 429
        ? 'rate_limit_error'
        : status === 529
          ? 'overloaded_error'
          : status >= 500
            ? 'api_error'
            : 'invalid_request_error';
    return { type: 'error', error: { type, message } };
  }

  /** `tool_use` blocks (input an object on the wire; a string here is a malformed server reply) and stop_reason tool_use. */
  sendToolCalls(response: ServerResponse, reply: ToolsReply, request: RecordedRequest): void {
    sendJson(response, 200, {
      id: 'msg_01FakeLoopback',
      type: 'message',
      role: 'assistant',
      model: modelOf(request),
      content: [
        ...(reply.text ? [{ type: 'text', text: reply.text }] : []),
        ...reply.calls.map((call) => ({
          type: 'tool_use',
          id: call.id ?? `toolu_01${randomBytes(12).toString('hex')}`,
          name: call.name,
          input: call.arguments,
          caller: { type: 'direct' },
        })),
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: reply.inputTokens ?? 120, output_tokens: reply.outputTokens ?? 40 },
    });
  }

  offeredTools(request: RecordedRequest): OfferedTools {
    const choice = field(field(request.body, 'tool_choice'), 'type');
    const neutral = choice === 'any' ? 'required' : choice;
    return {
      names: list(request.body, 'tools').map((tool) => String(field(tool, 'name'))),
      ...(typeof neutral === 'string' ? { choice: neutral as OfferedTools['choice'] } : {}),
    };
  }

  toolResults(request: RecordedRequest): SentToolResult[] {
    return list(request.body, 'messages')
      .filter((m) => field(m, 'role') === 'user')
      .flatMap((m) => list(m, 'content'))
      .filter((block) => field(block, 'type') === 'tool_result')
      .map((block) => ({
        callId: String(field(block, 'tool_use_id')),
        content: String(field(block, 'content')),
        isError: field(block, 'is_error') === true,
      }));
  }

  /**
   * The Messages API's rules for tool turns: tools declared whenever the conversation holds tool
   * blocks; each assistant turn's tool_use blocks answered by tool_result blocks at the start of the
   * next user turn, and a tool_result only for a tool_use of the turn before; ids of its pattern;
   * no empty text blocks.
   */
  toolTurnError(request: RecordedRequest): string | undefined {
    const messages = list(request.body, 'messages');
    const blocks = (m: unknown) => list(m, 'content');
    const typed = (m: unknown, type: string) => blocks(m).filter((b) => field(b, 'type') === type);
    const hasToolBlocks = messages.some((m) => typed(m, 'tool_use').length + typed(m, 'tool_result').length > 0);
    if (hasToolBlocks && list(request.body, 'tools').length === 0)
      return 'Requests which include `tool_use` or `tool_result` blocks must define tools.';
    for (const [index, message] of messages.entries()) {
      if (blocks(message).some((b) => field(b, 'type') === 'text' && String(field(b, 'text')).trim() === ''))
        return `messages.${index}: text content blocks must be non-empty`;
      const uses = typed(message, 'tool_use').map((b) => String(field(b, 'id')));
      const badId = uses.find((id) => !/^[a-zA-Z0-9_-]+$/.test(id));
      if (badId) return `messages.${index}: tool_use id ${badId} does not match ^[a-zA-Z0-9_-]+$`;
      const next = messages[index + 1];
      const answered = typed(next, 'tool_result').map((b) => String(field(b, 'tool_use_id')));
      const missing = uses.filter((id) => !answered.includes(id));
      if (uses.length > 0 && (field(next, 'role') !== 'user' || missing.length > 0))
        return `tool_use ids were found without tool_result blocks immediately after: ${missing.join(', ')}`;
      const results = typed(message, 'tool_result');
      const before = typed(messages[index - 1], 'tool_use').map((b) => String(field(b, 'id')));
      const stray = results.find((b) => !before.includes(String(field(b, 'tool_use_id'))));
      if (stray)
        return `messages.${index}: unexpected tool_use_id ${String(field(stray, 'tool_use_id'))} in tool_result`;
      const firstOther = blocks(message).findIndex((b) => field(b, 'type') !== 'tool_result');
      if (firstOther !== -1 && firstOther < results.length)
        return `messages.${index}: tool_result blocks must come first in the user turn`;
    }
    return undefined;
  }
}

export function anthropicFake(): LlmFake {
  return new LlmFake(new MessagesProtocol());
}
