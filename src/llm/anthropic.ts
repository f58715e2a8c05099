import type Anthropic from '@anthropic-ai/sdk';
import type { ChatModel, ChatRequest, ChatResult, ChatStreamEvent } from './chat-model.ts';
import { apiKeyProvider } from './provider.ts';
import {
  alternateTurns,
  lazySdk,
  providerError,
  providerFetch,
  requireText,
  result,
  splitSystem,
  usageOrEstimate,
  type ProviderOptions,
} from './provider-support.ts';

const sdk = lazySdk(() => import('@anthropic-ai/sdk'));

export const anthropic = apiKeyProvider({
  name: 'anthropic',
  // ANTHROPIC_BASE_URL without /v1 (the SDK adds it). claude-sonnet-4-5 reaches end-of-life 2026-11-30.
  env: { apiKey: 'ANTHROPIC_API_KEY', baseUrl: 'ANTHROPIC_BASE_URL', model: 'ASKPANDA_ANTHROPIC_MODEL' },
  defaultModel: 'claude-sonnet-4-6',
  sdk,
  model: (options) => new AnthropicChatModel(options),
});

/** Anthropic Messages API through `@anthropic-ai/sdk` (baseUrl without /v1: the SDK adds it). */
export class AnthropicChatModel implements ChatModel {
  readonly id: string;
  readonly offline = false;
  private client: Anthropic | undefined;

  constructor(private readonly options: ProviderOptions) {
    this.id = `anthropic:${options.model}`;
  }

  private async anthropic(): Promise<Anthropic> {
    const { default: Anthropic } = await sdk();
    this.client ??= new Anthropic({
      apiKey: this.options.apiKey,
      baseURL: this.options.baseUrl || undefined,
      maxRetries: 0,
      fetch: providerFetch().fetch,
    });
    return this.client;
  }

  private body(request: ChatRequest) {
    const { system, turns } = splitSystem(request.messages);
    return {
      model: this.options.model,
      max_tokens: request.maxOutputTokens ?? this.options.maxOutputTokens,
      // No JSON mode in the Messages API: the prompt asks for JSON and refine validates it.
      ...(system ? { system } : {}),
      messages: alternateTurns(turns).map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content })),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    };
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    try {
      const message = await (
        await this.anthropic()
      ).messages.create({ ...this.body(request), stream: false }, { signal: request.signal });
      const text = requireText(
        this.id,
        message.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
      );
      return result(
        this.id,
        text,
        usageOrEstimate(request.messages, text, message.usage.input_tokens, message.usage.output_tokens),
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
        await this.anthropic()
      ).messages.create({ ...this.body(request), stream: true }, { signal: request.signal });
      for await (const event of stream) {
        if (event.type === 'message_start') input = event.message.usage.input_tokens;
        else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
          text += event.delta.text;
          yield { type: 'delta', text: event.delta.text };
        } else if (event.type === 'message_delta') output = event.usage.output_tokens;
      }
      requireText(this.id, text);
    } catch (err) {
      throw providerError(this.id, err);
    }
    yield { type: 'done', result: result(this.id, text, usageOrEstimate(request.messages, text, input, output)) };
  }
}
