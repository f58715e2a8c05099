import { createHash } from 'node:crypto';
import type { Mistral } from '@mistralai/mistralai';
import type { ChatCompletionRequestMessage } from '@mistralai/mistralai/models/components';
import type { ChatMessage, ChatModel, ChatRequest, ChatResult, ChatStreamEvent, StreamRequest } from './chat-model.ts';
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
import { answerWithCalls, argumentsText, newToolCallId, toolCallFrom } from './tool-call-support.ts';

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
  readonly supportsTools = true;

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
      messages: request.messages.map(wireMessage),
      maxTokens: request.maxOutputTokens ?? this.options.maxOutputTokens,
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.json ? { responseFormat: { type: 'json_object' as const } } : {}),
      ...(request.tools?.length
        ? {
            tools: request.tools.map((tool) => ({
              type: 'function' as const,
              function: { name: tool.name, description: tool.description, parameters: { ...tool.inputSchema } },
            })),
            toolChoice: request.toolChoice ?? 'auto',
          }
        : {}),
    };
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    try {
      const response = await (
        await this.client(request.signal)
      ).chat.complete(this.body(request), {
        signal: request.signal ?? null,
      });
      const message = response.choices[0]?.message;
      const calls = (message?.toolCalls ?? []).map((call) =>
        // The SDK fills a missing id with the string "null".
        toolCallFrom(
          call.id && call.id !== 'null' ? call.id : newToolCallId(),
          call.function.name,
          call.function.arguments,
        ),
      );
      return answerWithCalls(this.id, request, contentText(message?.content as MistralContent), calls, {
        input: response.usage?.promptTokens,
        output: response.usage?.completionTokens,
      });
    } catch (err) {
      throw providerError(this.id, err);
    }
  }

  async *stream(request: StreamRequest): AsyncIterable<ChatStreamEvent> {
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

/**
 * Mistral wants tool call ids of exactly nine letters and digits (its own are); a call another
 * provider made ("call_…", "toolu_…") is renamed the same way in its call and its result.
 */
function mistralCallId(id: string): string {
  return /^[a-zA-Z0-9]{9}$/.test(id) ? id : createHash('sha256').update(id).digest('hex').slice(0, 9);
}

/** Chat completions messages in the SDK's camelCase: tool calls on the assistant message, results as `tool`. */
function wireMessage(message: ChatMessage): ChatCompletionRequestMessage {
  switch (message.role) {
    case 'tool':
      return {
        role: 'tool',
        toolCallId: mistralCallId(message.toolCallId),
        name: message.toolName,
        content: message.content,
      };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls?.length
          ? {
              toolCalls: message.toolCalls.map((call) => ({
                id: mistralCallId(call.id),
                type: 'function' as const,
                function: { name: call.name, arguments: argumentsText(call) },
              })),
            }
          : {}),
      };
    default:
      return { role: message.role, content: message.content };
  }
}
