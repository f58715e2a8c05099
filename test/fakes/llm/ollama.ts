import type { ServerResponse } from 'node:http';
import { LlmFake, sendJson, type Protocol, type RecordedRequest, type Reply } from './server.ts';

type TextReply = Extract<Reply, { kind: 'text' }>;

function modelOf(request: RecordedRequest): string {
  return String((request.body as { model?: unknown } | undefined)?.model ?? 'unknown');
}

function part(request: RecordedRequest, content: string, done: boolean, reply?: TextReply) {
  return {
    model: modelOf(request),
    created_at: new Date().toISOString(),
    message: { role: 'assistant', content },
    done,
    ...(done
      ? {
          done_reason: 'stop',
          total_duration: 912_000_000,
          load_duration: 12_000_000,
          prompt_eval_count: reply?.inputTokens ?? 120,
          prompt_eval_duration: 300_000_000,
          eval_count: reply?.outputTokens ?? 40,
          eval_duration: 600_000_000,
        }
      : {}),
  };
}

/** Ollama's POST /api/chat: one JSON object with `stream: false`, NDJSON lines otherwise (the default). */
class OllamaChatProtocol implements Protocol {
  readonly name = 'ollama';

  matches(method: string, path: string): boolean {
    return method === 'POST' && path.split('?')[0] === '/api/chat';
  }

  isStream(request: RecordedRequest): boolean {
    return (request.body as { stream?: unknown } | undefined)?.stream !== false;
  }

  sendText(res: ServerResponse, reply: TextReply, request: RecordedRequest): void {
    sendJson(res, 200, part(request, reply.text, true, reply));
  }

  startStream(res: ServerResponse, parts: string[], request: RecordedRequest): void {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const piece of parts) res.write(this.streamDelta(piece, request));
  }

  streamDelta(piece: string, request: RecordedRequest): string {
    return `${JSON.stringify(part(request, piece, false))}\n`;
  }

  sendStream(res: ServerResponse, parts: string[], reply: TextReply, request: RecordedRequest): void {
    this.startStream(res, parts, request);
    res.end(`${JSON.stringify(part(request, '', true, reply))}\n`);
  }

  errorBody(_status: number, message: string): unknown {
    return { error: message };
  }
}

export function ollamaFake(): LlmFake {
  return new LlmFake(new OllamaChatProtocol());
}
