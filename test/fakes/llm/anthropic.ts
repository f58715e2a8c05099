import type { ServerResponse } from 'node:http';
import { LlmFake, sendJson, type Protocol, type RecordedRequest, type Reply } from './server.ts';

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
}

export function anthropicFake(): LlmFake {
  return new LlmFake(new MessagesProtocol());
}
