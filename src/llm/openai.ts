import type OpenAI from 'openai';
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

const sdk = lazySdk(() => import('openai'));

export const openai = apiKeyProvider({
  name: 'openai',
  // OPENAI_BASE_URL: http://host:port/v1 of a compatible server (vLLM, LiteLLM …); empty: api.openai.com.
  env: { apiKey: 'OPENAI_API_KEY', baseUrl: 'OPENAI_BASE_URL', model: 'ASKPANDA_OPENAI_MODEL' },
  defaultModel: 'gpt-4o-mini',
  sdk,
  model: (options) => new OpenAIChatModel(options),
});

const REASONING_MODEL = /^(?:o\d|gpt-5)/;
const REASONING_HEADROOM = 2048;

/** OpenAI chat completions through the official `openai` SDK; also any compatible server via baseUrl. */
export class OpenAIChatModel implements ChatModel {
  readonly id: string;
  readonly offline = false;
  private client: OpenAI | undefined;

  constructor(private readonly options: ProviderOptions) {
    this.id = `openai:${options.model}`;
  }

  private async openai(): Promise<OpenAI> {
    const { default: OpenAI } = await sdk();
    // Retries belong to the fallback chain (it moves on to the next provider instead); bodies are capped.
    this.client ??= new OpenAI({
      apiKey: this.options.apiKey,
      baseURL: this.options.baseUrl || undefined,
      maxRetries: 0,
      fetch: providerFetch().fetch,
    });
    return this.client;
  }

  private body(request: ChatRequest) {
    const maxTokens = request.maxOutputTokens ?? this.options.maxOutputTokens;
    // Reasoning models (o-series, gpt-5) spend completion tokens on hidden reasoning and reject any
    // temperature but the default: keep reasoning short and leave it room.
    const reasoning = REASONING_MODEL.test(this.options.model);
    const budget = reasoning ? maxTokens + REASONING_HEADROOM : maxTokens;
    return {
      model: this.options.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      // api.openai.com's newer models only take max_completion_tokens; compatible servers know max_tokens.
      ...(this.options.baseUrl && !reasoning ? { max_tokens: budget } : { max_completion_tokens: budget }),
      ...(reasoning
        ? { reasoning_effort: (/^gpt-5/.test(this.options.model) ? 'minimal' : 'low') as 'minimal' | 'low' }
        : {}),
      ...(request.temperature !== undefined && !reasoning ? { temperature: request.temperature } : {}),
      ...(request.json ? { response_format: { type: 'json_object' as const } } : {}),
    };
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    try {
      const response = await (
        await this.openai()
      ).chat.completions.create({ ...this.body(request), stream: false }, { signal: request.signal });
      const text = requireText(this.id, response.choices[0]?.message?.content ?? '');
      return result(
        this.id,
        text,
        usageOrEstimate(request.messages, text, response.usage?.prompt_tokens, response.usage?.completion_tokens),
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
        await this.openai()
      ).chat.completions.create(
        { ...this.body(request), stream: true, stream_options: { include_usage: true } },
        { signal: request.signal },
      );
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta?.content;
        if (delta) {
          text += delta;
          yield { type: 'delta', text: delta };
        }
        if (chunk.usage) {
          input = chunk.usage.prompt_tokens;
          output = chunk.usage.completion_tokens;
        }
      }
      requireText(this.id, text);
    } catch (err) {
      throw providerError(this.id, err);
    }
    yield { type: 'done', result: result(this.id, text, usageOrEstimate(request.messages, text, input, output)) };
  }
}
