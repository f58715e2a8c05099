import type { GoogleGenAI, GenerateContentParameters } from '@google/genai';
import type { ChatModel, ChatRequest, ChatResult, ChatStreamEvent } from './chat-model.ts';
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
  type ProviderOptions,
} from './provider-support.ts';

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
    return {
      model: this.options.model,
      contents: alternateTurns(turns).map((m) => ({
        role: m.role === 'assistant' ? 'model' : 'user',
        parts: [{ text: m.content }],
      })),
      config: {
        ...(system ? { systemInstruction: system } : {}),
        ...thinking(this.options.model, maxOutputTokens),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.json ? { responseMimeType: 'application/json' } : {}),
        ...(request.signal ? { abortSignal: request.signal } : {}),
      },
    };
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    const observer = providerFetch();
    try {
      const response = await (await this.client(observer.fetch)).models.generateContent(this.params(request));
      const text = requireText(this.id, response.text ?? '');
      return result(
        this.id,
        text,
        usageOrEstimate(
          request.messages,
          text,
          response.usageMetadata?.promptTokenCount,
          response.usageMetadata?.candidatesTokenCount,
        ),
      );
    } catch (err) {
      throw providerError(this.id, err, observer.retryAfter());
    }
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
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
