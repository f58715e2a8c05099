import { settingChecks } from '../config/schema.ts';
import type { ChatModel, ChatRequest, ChatResult, ChatStreamEvent } from './chat-model.ts';
import { defineProvider } from './provider.ts';
import { lazySdk, providerFetch, providerError, requireText, result, usageOrEstimate } from './provider-support.ts';

const sdk = lazySdk(() => import('ollama'));

export const ollama = defineProvider({
  name: 'ollama',
  settings: {
    host: { env: 'OLLAMA_HOST', default: 'http://127.0.0.1:11434', check: settingChecks.httpUrl },
    model: { env: 'ASKPANDA_OLLAMA_MODEL', default: 'llama3.1', check: settingChecks.modelName },
  },
  async create(settings, limits) {
    await sdk();
    return new OllamaChatModel({ ...settings, ...limits });
  },
});

export interface OllamaOptions {
  host: string;
  model: string;
  maxOutputTokens: number;
}

/**
 * Local models (Llama and friends) through the `ollama` library. The library has no per-call abort
 * signal, so each call gets a client whose fetch carries the call's signal.
 */
export class OllamaChatModel implements ChatModel {
  readonly id: string;
  readonly offline = false;

  constructor(private readonly options: OllamaOptions) {
    this.id = `ollama:${options.model}`;
  }

  private body(request: ChatRequest) {
    return {
      model: this.options.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      ...(request.json ? { format: 'json' } : {}),
      options: {
        num_predict: request.maxOutputTokens ?? this.options.maxOutputTokens,
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      },
    };
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    const observer = providerFetch(request.signal);
    try {
      const { Ollama } = await sdk();
      const client = new Ollama({ host: this.options.host, fetch: observer.fetch });
      const response = await client.chat({ ...this.body(request), stream: false });
      const text = requireText(this.id, response.message.content);
      return result(
        this.id,
        text,
        usageOrEstimate(request.messages, text, response.prompt_eval_count, response.eval_count),
      );
    } catch (err) {
      throw providerError(this.id, err, observer.retryAfter());
    }
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    const observer = providerFetch(request.signal);
    let text = '';
    let input: number | undefined;
    let output: number | undefined;
    try {
      const { Ollama } = await sdk();
      const client = new Ollama({ host: this.options.host, fetch: observer.fetch });
      const stream = await client.chat({ ...this.body(request), stream: true });
      for await (const part of stream) {
        const delta = part.message?.content;
        if (delta) {
          text += delta;
          yield { type: 'delta', text: delta };
        }
        if (part.done) {
          input = part.prompt_eval_count;
          output = part.eval_count;
        }
      }
      requireText(this.id, text);
    } catch (err) {
      throw providerError(this.id, err, observer.retryAfter());
    }
    yield { type: 'done', result: result(this.id, text, usageOrEstimate(request.messages, text, input, output)) };
  }
}
