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
  /** Thought signatures handed out, so each is distinct. */
  private signatures = 0;

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

  /**
   * `functionCall` parts (args an object on the wire; a string here is a malformed reply), each turn's
   * first carrying a thought signature as thinking models send it, and an id only when scripted.
   */
  sendToolCalls(res: ServerResponse, reply: ToolsReply): void {
    this.signatures++;
    const parts = [
      ...(reply.text ? [{ text: reply.text }] : []),
      ...reply.calls.map((call, index) => ({
        functionCall: { ...(call.id ? { id: call.id } : {}), name: call.name, args: call.arguments },
        ...(index === 0 ? { thoughtSignature: `fake-signature-${this.signatures}` } : {}),
      })),
    ];
    sendJson(res, 200, {
      candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
      usageMetadata: {
        promptTokenCount: reply.inputTokens ?? 120,
        candidatesTokenCount: reply.outputTokens ?? 40,
        totalTokenCount: (reply.inputTokens ?? 120) + (reply.outputTokens ?? 40),
      },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'fake-response-1',
    });
  }

  offeredTools(request: RecordedRequest): OfferedTools {
    const mode = field(field(field(request.body, 'toolConfig'), 'functionCallingConfig'), 'mode');
    const choice = { AUTO: 'auto', NONE: 'none', ANY: 'required' }[String(mode)] as OfferedTools['choice'];
    return {
      names: list(request.body, 'tools')
        .flatMap((tool) => list(tool, 'functionDeclarations'))
        .map((declaration) => String(field(declaration, 'name'))),
      ...(choice ? { choice } : {}),
    };
  }

  toolResults(request: RecordedRequest): SentToolResult[] {
    return list(request.body, 'contents')
      .flatMap((content) => list(content, 'parts'))
      .map((part) => field(part, 'functionResponse'))
      .filter((response) => response !== undefined)
      .map((response) => {
        const body = field(response, 'response');
        const error = field(body, 'error');
        return {
          ...(typeof field(response, 'id') === 'string' ? { callId: String(field(response, 'id')) } : {}),
          name: String(field(response, 'name')),
          content: String(error ?? field(body, 'output')),
          isError: error !== undefined,
        };
      });
  }

  /**
   * Gemini's rules for function turns: a user turn of function responses follows a model turn of as
   * many function calls, with the same names (and ids where the calls had them); Gemini 3 models want
   * the thought signature back on the first call of each turn; declarations use one schema field.
   */
  toolTurnError(request: RecordedRequest): string | undefined {
    const model = ROUTE.exec(request.path)?.[1] ?? '';
    const declarations = list(request.body, 'tools').flatMap((tool) => list(tool, 'functionDeclarations'));
    if (
      declarations.some((d) => field(d, 'parameters') !== undefined && field(d, 'parametersJsonSchema') !== undefined)
    )
      return 'parameters and parametersJsonSchema are mutually exclusive';
    const contents = list(request.body, 'contents');
    for (const [index, content] of contents.entries()) {
      const calls = list(content, 'parts').filter((p) => field(p, 'functionCall') !== undefined);
      if (calls.length > 0 && /^gemini-3/.test(model) && field(calls[0], 'thoughtSignature') === undefined)
        return `Function call is missing a thought_signature in functionCall parts (content ${index})`;
      const responses = list(content, 'parts')
        .map((p) => field(p, 'functionResponse'))
        .filter((r) => r !== undefined);
      if (responses.length === 0) continue;
      const asked = list(contents[index - 1], 'parts')
        .map((p) => field(p, 'functionCall'))
        .filter((c) => c !== undefined);
      if (field(contents[index - 1], 'role') !== 'model' || asked.length !== responses.length)
        return (
          'Please ensure that the number of function response parts is equal to the number of function call ' +
          'parts of the function call turn.'
        );
      for (const [i, response] of responses.entries()) {
        if (field(response, 'name') !== field(asked[i], 'name'))
          return `function response ${String(field(response, 'name'))} does not answer call ${String(field(asked[i], 'name'))}`;
        if (field(asked[i], 'id') !== undefined && field(response, 'id') !== field(asked[i], 'id'))
          return `function response id ${String(field(response, 'id'))} does not match call id ${String(field(asked[i], 'id'))}`;
      }
    }
    return undefined;
  }
}

export function geminiFake(): LlmFake {
  return new LlmFake(new GenerateContentProtocol());
}
