import type { Mistral } from '@mistralai/mistralai';
import type { ChatModel, ChatRequest, ChatResult, ChatStreamEvent } from './chat-model.ts';
import { apiKeyProvider } from './provider.ts';
import {
  lazySdk,
  providerError,
  providerFetch,
  requireText,
  result,
  usageOrEstimate,
  type ProviderOptions,
} from './provider-support.ts';

const sdk = lazySdk(async () => ({
  ...(await import('@mistralai/mistralai')),
  ...(await import('@mistralai/mistralai/lib/http.js')),
}));

export const mistral = apiKeyProvider({
  name: 'mistral',
  env: { apiKey: 'MISTRAL_API_KEY', baseUrl: 'MISTRAL_BASE_URL', model: 'ASKPANDA_MISTRAL_MODEL' },
  defaultModel: 'mistral-small-latest',
  sdk,
  model: (options) => new MistralChatModel(options),
});

type MistralContent = string | Array<{ type: string; text?: string }> | null | undefined;

function contentText(content: MistralContent): string {
  if (typeof content === 'string') return content;
  return (content ?? []).map((chunk) => (chunk.type === 'text' && chunk.text ? chunk.text : '')).join('');
}

/**
 * Mistral chat completions through `@mistralai/mistralai` (it validates responses strictly). A
 * client per call carries that call's signal in its fetch: the SDK sends a clone of its Request,
 * and under memory pressure the clone's signal lost its link to ours, so a timed-out call kept
 * its connection open and kept reading (a huge or endless body grew memory by hundreds of MB a second).
 */
export class MistralChatModel implements ChatModel {
  readonly id: string;
  readonly offline = false;

  constructor(private readonly options: ProviderOptions) {
    this.id = `mistral:${options.model}`;
  }

  private async client(signal: AbortSignal | undefined): Promise<Mistral> {
    const { Mistral, HTTPClient } = await sdk();
    const httpClient = new HTTPClient({ fetcher: providerFetch(signal).fetch });
    return new Mistral({
      apiKey: this.options.apiKey,
      serverURL: this.options.baseUrl || undefined,
      retryConfig: { strategy: 'none' },
      httpClient,
    });
  }

  private body(request: ChatRequest) {
    return {
      model: this.options.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      maxTokens: request.maxOutputTokens ?? this.options.maxOutputTokens,
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.json ? { responseFormat: { type: 'json_object' as const } } : {}),
    };
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    try {
      const response = await (
        await this.client(request.signal)
      ).chat.complete(this.body(request), {
        signal: request.signal ?? null,
      });
      const text = requireText(this.id, contentText(response.choices[0]?.message?.content as MistralContent));
      return result(
        this.id,
        text,
        usageOrEstimate(request.messages, text, response.usage?.promptTokens, response.usage?.completionTokens),
      );
    } catch (err) {
      throw providerError(this.id, err);
    }
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    let text = '';
    let input: number | undefined;
    let output: number | undefined;
    try {
      const stream = await (
        await this.client(request.signal)
      ).chat.stream(this.body(request), {
        signal: request.signal ?? null,
      });
      for await (const event of stream) {
        const delta = contentText(event.data.choices[0]?.delta?.content as MistralContent);
        if (delta) {
          text += delta;
          yield { type: 'delta', text: delta };
        }
        if (event.data.usage) {
          input = event.data.usage.promptTokens;
          output = event.data.usage.completionTokens;
        }
      }
      requireText(this.id, text);
    } catch (err) {
      throw providerError(this.id, err);
    }
    yield { type: 'done', result: result(this.id, text, usageOrEstimate(request.messages, text, input, output)) };
  }
}
