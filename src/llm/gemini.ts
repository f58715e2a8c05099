import type {
  Content,
  FunctionCallingConfigMode,
  GenerateContentParameters,
  GenerateContentResponse,
  GoogleGenAI,
  Part,
} from '@google/genai';
import type { ChatModel, ChatRequest, ChatResult, ChatStreamEvent, StreamRequest, ToolCall } from './chat-model.ts';
import { apiKeyProvider } from './provider.ts';
import {
  alternateTurns,
  lazySdk,
  providerFetch,
  providerError,
  requireText,
  result,
  splitSystem,
  usageOrEstimate,
  CONTINUING,
  type ProviderOptions,
  type Turn,
} from './provider-support.ts';
import { answerWithCalls, argumentsObject, callsById, newToolCallId, toolCallFrom } from './tool-call-support.ts';

const sdk = lazySdk(() => import('@google/genai'));

export const gemini = apiKeyProvider({
  name: 'gemini',
  env: { apiKey: 'GEMINI_API_KEY', baseUrl: 'GEMINI_BASE_URL', model: 'ASKPANDA_GEMINI_MODEL' },
  defaultModel: 'gemini-2.5-flash',
  sdk,
  model: (options) => new GeminiChatModel(options),
});

/**
 * Gemini 2.5+ models think by default and the thinking counts against maxOutputTokens: a small
 * budget (routing asks for 150) came back empty. Flash models can stop thinking; Pro cannot, so
 * it gets a bounded thinking budget on top of the answer's; unknown models get headroom.
 */
export function thinking(
  model: string,
  maxOutputTokens: number,
): { maxOutputTokens: number; thinkingConfig?: { thinkingBudget: number } } {
  if (/^gemini-2\.5-flash/.test(model)) return { maxOutputTokens, thinkingConfig: { thinkingBudget: 0 } };
  if (/^gemini-2\.5-pro/.test(model))
    return { maxOutputTokens: maxOutputTokens + 1024, thinkingConfig: { thinkingBudget: 1024 } };
  if (/^gemini-(?:1\.|2\.0)/.test(model)) return { maxOutputTokens };
  return { maxOutputTokens: maxOutputTokens + 2048 };
}

/**
 * Gemini through `@google/genai`, Google's maintained SDK (the older `@google/generative-ai` is
 * deprecated). A client per call carries that call's fetch, which keeps Retry-After (ApiError drops it).
 */
export class GeminiChatModel implements ChatModel {
  readonly id: string;
  readonly offline = false;
  readonly supportsTools = true;

  constructor(private readonly options: ProviderOptions) {
    this.id = `gemini:${options.model}`;
  }

  private async client(fetchFn: typeof fetch): Promise<GoogleGenAI> {
    const { GoogleGenAI } = await sdk();
    // Without retryOptions the SDK makes one attempt: retries belong to the fallback chain.
    return new GoogleGenAI({
      apiKey: this.options.apiKey,
      httpOptions: { ...(this.options.baseUrl ? { baseUrl: this.options.baseUrl } : {}), fetch: fetchFn },
    });
  }

  private params(request: ChatRequest): GenerateContentParameters {
    const { system, turns } = splitSystem(request.messages);
    const maxOutputTokens = request.maxOutputTokens ?? this.options.maxOutputTokens;
    const calls = callsById(request.messages);
    const signed = needsThoughtSignatures(this.options.model);
    const contents = turns.map((turn) => wireTurn(turn, calls, signed));
    return {
      model: this.options.model,
      contents: alternateTurns(contents, mergeTurns, { role: 'user', parts: [{ text: CONTINUING }] }),
      config: {
        ...(system ? { systemInstruction: system } : {}),
        ...thinking(this.options.model, maxOutputTokens),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.json ? { responseMimeType: 'application/json' } : {}),
        ...(request.signal ? { abortSignal: request.signal } : {}),
        ...(request.tools?.length
          ? {
              tools: [
                {
                  functionDeclarations: request.tools.map((tool) => ({
                    name: tool.name,
                    description: tool.description,
                    parametersJsonSchema: tool.inputSchema,
                  })),
                },
              ],
              toolConfig: {
                functionCallingConfig: {
                  mode: CALLING_MODE[request.toolChoice ?? 'auto'] as FunctionCallingConfigMode,
                },
              },
            }
          : {}),
      },
    };
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    const observer = providerFetch();
    try {
      const response = await (await this.client(observer.fetch)).models.generateContent(this.params(request));
      const calls = toolCallsOf(response);
      return answerWithCalls(this.id, request, calls.length > 0 ? textOf(response) : (response.text ?? ''), calls, {
        input: response.usageMetadata?.promptTokenCount,
        output: response.usageMetadata?.candidatesTokenCount,
      });
    } catch (err) {
      throw providerError(this.id, err, observer.retryAfter());
    }
  }

  async *stream(request: StreamRequest): AsyncIterable<ChatStreamEvent> {
    const observer = providerFetch();
    let text = '';
    let input: number | undefined;
    let output: number | undefined;
    try {
      const stream = await (await this.client(observer.fetch)).models.generateContentStream(this.params(request));
      for await (const chunk of stream) {
        const delta = chunk.text;
        if (delta) {
          text += delta;
          yield { type: 'delta', text: delta };
        }
        if (chunk.usageMetadata) {
          input = chunk.usageMetadata.promptTokenCount ?? input;
          output = chunk.usageMetadata.candidatesTokenCount ?? output;
        }
      }
      requireText(this.id, text);
    } catch (err) {
      throw providerError(this.id, err, observer.retryAfter());
    }
    yield { type: 'done', result: result(this.id, text, usageOrEstimate(request.messages, text, input, output)) };
  }
}

const CALLING_MODE = {
  auto: 'AUTO',
  none: 'NONE',
  required: 'ANY',
} as const satisfies Record<NonNullable<ChatRequest['toolChoice']>, `${FunctionCallingConfigMode}`>;

/**
 * Gemini 3 and later reject a replayed function call without the thought signature it came with. A
 * call another provider made has none: Google documents this value for such calls.
 */
const NO_SIGNATURE = 'skip_thought_signature_validator';

function needsThoughtSignatures(model: string): boolean {
  return !/^gemini-(?:1|2)\./.test(model);
}

/**
 * A turn in Gemini's contents: calls are `functionCall` parts of the model turn (with the id and
 * thought signature Gemini gave them), each result a `functionResponse` part of the user turn after.
 */
function wireTurn(turn: Turn, calls: Map<string, ToolCall>, signed: boolean): Content & { role: 'user' | 'model' } {
  if (turn.role === 'tool') {
    const id = calls.get(turn.toolCallId)?.providerMetadata?.gemini?.id;
    const response = turn.isError ? { error: turn.content } : { output: turn.content };
    return { role: 'user', parts: [{ functionResponse: { ...(id ? { id } : {}), name: turn.toolName, response } }] };
  }
  if (turn.role === 'user' || !turn.toolCalls?.length) {
    return { role: turn.role === 'user' ? 'user' : 'model', parts: [{ text: turn.content }] };
  }
  const parts: Part[] = turn.toolCalls.map((call, index) => {
    const gemini = call.providerMetadata?.gemini;
    // Parallel calls carry one signature, on the first call of the turn.
    const signature = gemini?.thoughtSignature ?? (signed && index === 0 ? NO_SIGNATURE : undefined);
    return {
      functionCall: { ...(gemini?.id ? { id: gemini.id } : {}), name: call.name, args: argumentsObject(call) },
      ...(signature ? { thoughtSignature: signature } : {}),
    };
  });
  return { role: 'model', parts: turn.content.trim() ? [{ text: turn.content }, ...parts] : parts };
}

/** Two turns of one role as one: text joined as before, other parts listed in order. */
function mergeTurns<T extends Content & { role: 'user' | 'model' }>(earlier: T, later: T): T {
  const a = earlier.parts ?? [];
  const b = later.parts ?? [];
  const onlyText = (parts: Part[]) => parts.length === 1 && typeof parts[0]!.text === 'string';
  if (onlyText(a) && onlyText(b)) return { ...earlier, parts: [{ text: `${a[0]!.text}\n\n${b[0]!.text}` }] };
  return { ...earlier, parts: [...a, ...b] };
}

function toolCallsOf(response: GenerateContentResponse): ToolCall[] {
  const parts = response.candidates?.[0]?.content?.parts ?? [];
  return parts.flatMap((part) => {
    const call = part.functionCall;
    if (!call?.name) return [];
    const gemini = {
      ...(call.id ? { id: call.id } : {}),
      ...(part.thoughtSignature ? { thoughtSignature: part.thoughtSignature } : {}),
    };
    return [
      toolCallFrom(
        call.id ?? newToolCallId(),
        call.name,
        call.args,
        Object.keys(gemini).length ? { gemini } : undefined,
      ),
    ];
  });
}

/** The answer's text without thoughts (`response.text` warns on every response that also holds calls). */
function textOf(response: GenerateContentResponse): string {
  const parts = response.candidates?.[0]?.content?.parts ?? [];
  return parts.map((part) => (typeof part.text === 'string' && !part.thought ? part.text : '')).join('');
}
