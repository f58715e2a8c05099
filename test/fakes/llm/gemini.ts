import type { ServerResponse } from 'node:http';
import { LlmFake, sendJson, type Protocol, type RecordedRequest, type Reply } from './server.ts';

type TextReply = Extract<Reply, { kind: 'text' }>;

const ROUTE = /^\/v1beta\/models\/([^/:?]+):(generateContent|streamGenerateContent)(?:\?|$)/;

function response(textValue: string, usage?: { input: number; output: number }, finish?: string) {
  return {
    candidates: [
      {
        content: { role: 'model', parts: [{ text: textValue }] },
        ...(finish ? { finishReason: finish } : {}),
        index: 0,
      },
    ],
    ...(usage
      ? {
          usageMetadata: {
            promptTokenCount: usage.input,
            candidatesTokenCount: usage.output,
            totalTokenCount: usage.input + usage.output,
          },
        }
      : {}),
    modelVersion: 'gemini-2.5-flash',
    responseId: 'fake-response-1',
  };
}

/** generateContent (JSON) and streamGenerateContent?alt=sse (`data: {GenerateContentResponse}` events). */
class GenerateContentProtocol implements Protocol {
  readonly name = 'gemini';

  matches(method: string, path: string): boolean {
    return method === 'POST' && ROUTE.test(path);
  }

  isStream(request: RecordedRequest): boolean {
    return ROUTE.exec(request.path)?.[2] === 'streamGenerateContent';
  }

  sendText(res: ServerResponse, reply: TextReply): void {
    sendJson(
      res,
      200,
      response(reply.text, { input: reply.inputTokens ?? 120, output: reply.outputTokens ?? 40 }, 'STOP'),
    );
  }

  startStream(res: ServerResponse, parts: string[]): void {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const part of parts) res.write(this.streamDelta(part));
  }

  streamDelta(piece: string): string {
    return `data: ${JSON.stringify(response(piece))}\r\n\r\n`;
  }

  sendStream(res: ServerResponse, parts: string[], reply: TextReply): void {
    const last = parts.pop() ?? '';
    this.startStream(res, parts);
    res.end(
      `data: ${JSON.stringify(response(last, { input: reply.inputTokens ?? 120, output: reply.outputTokens ?? 40 }, 'STOP'))}\r\n\r\n`,
    );
  }

  errorBody(status: number, message: string): unknown {
    const statusName =
      status === 429
        ? 'RESOURCE_EXHAUSTED'
        : status === 503
          ? 'UNAVAILABLE'
          : status >= 500
            ? 'INTERNAL'
            : 'INVALID_ARGUMENT';
    return { error: { code: status, message, status: statusName } };
  }
}

export function geminiFake(): LlmFake {
  return new LlmFake(new GenerateContentProtocol());
}
