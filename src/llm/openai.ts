import type OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type {
  ChatMessage,
  ChatModel,
  ChatRequest,
  ChatResult,
  ChatStreamEvent,
  StreamRequest,
  ToolSpec,
} from './chat-model.ts';
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
import { answerWithCalls, argumentsText, toolCallFrom } from './tool-call-support.ts';

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
  readonly supportsTools = true;
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
      messages: request.messages.map(wireMessage),
      // api.openai.com's newer models only take max_completion_tokens; compatible servers know max_tokens.
      ...(this.options.baseUrl && !reasoning ? { max_tokens: budget } : { max_completion_tokens: budget }),
      ...(reasoning
        ? { reasoning_effort: (/^gpt-5/.test(this.options.model) ? 'minimal' : 'low') as 'minimal' | 'low' }
        : {}),
      ...(request.temperature !== undefined && !reasoning ? { temperature: request.temperature } : {}),
      ...(request.json ? { response_format: { type: 'json_object' as const } } : {}),
      ...(request.tools?.length
        ? { tools: request.tools.map(wireTool), tool_choice: request.toolChoice ?? 'auto' }
        : {}),
    };
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    try {
      const response = await (
        await this.openai()
      ).chat.completions.create({ ...this.body(request), stream: false }, { signal: request.signal });
      const message = response.choices[0]?.message;
      const calls = (message?.tool_calls ?? []).flatMap((call) =>
        call.type === 'function' ? [toolCallFrom(call.id, call.function.name, call.function.arguments)] : [],
      );
      return answerWithCalls(this.id, request, message?.content ?? '', calls, {
        input: response.usage?.prompt_tokens,
        output: response.usage?.completion_tokens,
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

/** Chat completions messages: tool calls on the assistant message, each result a `tool` message. */
function wireMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    case 'assistant':
      if (!message.toolCalls?.length) return { role: 'assistant', content: message.content };
      return {
        role: 'assistant',
        content: message.content || null,
        tool_calls: message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function' as const,
          function: { name: call.name, arguments: argumentsText(call) },
        })),
      };
    default:
      return { role: message.role, content: message.content };
  }
}

function wireTool(tool: ToolSpec): ChatCompletionTool {
  return {
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: { ...tool.inputSchema } },
  };
}
