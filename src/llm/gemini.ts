import { GoogleGenAI, type GenerateContentParameters } from '@google/genai';
import type { ChatModel, ChatRequest, ChatResult, ChatStreamEvent } from './chat-model.ts';
import { alternateTurns, observingFetch, providerError, requireText, result, splitSystem, usageOrEstimate, type ProviderOptions } from './provider-support.ts';

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

  private client(fetchFn: typeof fetch): GoogleGenAI {
    // Without retryOptions the SDK makes one attempt: retries belong to the fallback chain.
    return new GoogleGenAI({ apiKey: this.options.apiKey, httpOptions: { ...(this.options.baseUrl ? { baseUrl: this.options.baseUrl } : {}), fetch: fetchFn } });
  }

  private params(request: ChatRequest): GenerateContentParameters {
    const { system, turns } = splitSystem(request.messages);
    return {
      model: this.options.model,
      contents: alternateTurns(turns).map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] })),
      config: {
        ...(system ? { systemInstruction: system } : {}),
        maxOutputTokens: request.maxOutputTokens ?? this.options.maxOutputTokens,
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.json ? { responseMimeType: 'application/json' } : {}),
        ...(request.signal ? { abortSignal: request.signal } : {}),
      },
    };
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    const observer = observingFetch();
    try {
      const response = await this.client(observer.fetch).models.generateContent(this.params(request));
      const text = requireText(this.id, response.text ?? '');
      return result(this.id, text, usageOrEstimate(request.messages, text, response.usageMetadata?.promptTokenCount, response.usageMetadata?.candidatesTokenCount));
    } catch (err) {
      throw providerError(this.id, err, observer.retryAfter());
    }
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    const observer = observingFetch();
    let text = '';
    let input: number | undefined;
    let output: number | undefined;
    try {
      const stream = await this.client(observer.fetch).models.generateContentStream(this.params(request));
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
