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

function part(request: RecordedRequest, content: string, done: boolean, reply?: TextReply | ToolsReply) {
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

  /** `message.tool_calls` with arguments as an object (a string here is a malformed reply) and no ids. */
  sendToolCalls(res: ServerResponse, reply: ToolsReply, request: RecordedRequest): void {
    const done = part(request, reply.text ?? '', true, reply);
    sendJson(res, 200, {
      ...done,
      message: {
        ...done.message,
        tool_calls: reply.calls.map((call) => ({ function: { name: call.name, arguments: call.arguments } })),
      },
    });
  }

  /** Ollama has no tool choice: a request either offers tools or does not. */
  offeredTools(request: RecordedRequest): OfferedTools {
    return { names: list(request.body, 'tools').map((tool) => String(field(field(tool, 'function'), 'name'))) };
  }

  toolResults(request: RecordedRequest): SentToolResult[] {
    return list(request.body, 'messages')
      .filter((m) => field(m, 'role') === 'tool')
      .map((m) => ({ name: String(field(m, 'tool_name')), content: String(field(m, 'content')) }));
  }

  /** Results follow the assistant message that asked for them, each naming one of its calls' tools. */
  toolTurnError(request: RecordedRequest): string | undefined {
    let asked: string[] = [];
    for (const message of list(request.body, 'messages')) {
      const role = field(message, 'role');
      if (role === 'tool') {
        const name = String(field(message, 'tool_name'));
        if (!asked.includes(name)) return `a tool message for ${name} follows no call of that tool`;
        continue;
      }
      asked =
        role === 'assistant'
          ? list(message, 'tool_calls').map((call) => String(field(field(call, 'function'), 'name')))
          : [];
    }
    return undefined;
  }
}

export function ollamaFake(): LlmFake {
  return new LlmFake(new OllamaChatProtocol());
}
