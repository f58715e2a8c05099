import type Anthropic from '@anthropic-ai/sdk';
import type {
  AssistantMessageParam,
  ContentBlockParam,
  Tool,
  ToolChoice,
  UserMessageParam,
} from '@anthropic-ai/sdk/resources/messages';
import type { ChatModel, ChatRequest, ChatResult, ChatStreamEvent, StreamRequest, ToolSpec } from './chat-model.ts';
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
  CONTINUING,
  type ProviderOptions,
  type Turn,
} from './provider-support.ts';
import { answerWithCalls, argumentsObject, toolCallFrom } from './tool-call-support.ts';

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
  readonly supportsTools = true;
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
      messages: alternateTurns(turns.map(wireTurn), mergeTurns, { role: 'user', content: CONTINUING }),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      // A conversation that holds tool_use blocks must declare the tools, even when none may be called now.
      ...(request.tools?.length
        ? { tools: request.tools.map(wireTool), tool_choice: TOOL_CHOICE[request.toolChoice ?? 'auto'] }
        : {}),
    };
  }

  async complete(request: ChatRequest): Promise<ChatResult> {
    try {
      const message = await (
        await this.anthropic()
      ).messages.create({ ...this.body(request), stream: false }, { signal: request.signal });
      const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
      const calls = message.content.flatMap((block) =>
        block.type === 'tool_use' ? [toolCallFrom(block.id, block.name, block.input)] : [],
      );
      return answerWithCalls(this.id, request, text, calls, {
        input: message.usage.input_tokens,
        output: message.usage.output_tokens,
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

type WireTurn = UserMessageParam | AssistantMessageParam;

const TOOL_CHOICE: Record<NonNullable<ChatRequest['toolChoice']>, ToolChoice> = {
  auto: { type: 'auto' },
  none: { type: 'none' },
  required: { type: 'any' },
};

/** Tool-use ids must match ^[a-zA-Z0-9_-]+$; calls another provider made may use other characters. */
function toolUseId(id: string): string {
  return id.replace(/[^a-zA-Z0-9_-]/g, '_') || 'call';
}

/**
 * A turn in the Messages API: tool calls are `tool_use` blocks of the assistant turn, and each result
 * a `tool_result` block of the user turn after it. Plain text stays a string, as before tools.
 */
function wireTurn(turn: Turn): WireTurn {
  if (turn.role === 'tool') {
    return {
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: toolUseId(turn.toolCallId),
          content: turn.content,
          ...(turn.isError ? { is_error: true } : {}),
        },
      ],
    };
  }
  if (turn.role === 'user' || !turn.toolCalls?.length) return { role: turn.role, content: turn.content };
  return {
    role: 'assistant',
    content: [
      ...(turn.content.trim() ? [{ type: 'text' as const, text: turn.content }] : []),
      ...turn.toolCalls.map((call) => ({
        type: 'tool_use' as const,
        id: toolUseId(call.id),
        name: call.name,
        input: argumentsObject(call),
      })),
    ],
  };
}

/** Two turns of one role as one: text joined as before, blocks listed in order (tool results first). */
function mergeTurns(earlier: WireTurn, later: WireTurn): WireTurn {
  if (typeof earlier.content === 'string' && typeof later.content === 'string')
    return { ...earlier, content: `${earlier.content}\n\n${later.content}` };
  const blocks = (content: WireTurn['content']): ContentBlockParam[] =>
    typeof content === 'string' ? (content.trim() ? [{ type: 'text', text: content }] : []) : content;
  const all = [...blocks(earlier.content), ...blocks(later.content)];
  // The API wants a user turn's tool results before any text in it.
  const results = all.filter((block) => block.type === 'tool_result');
  return { ...earlier, content: [...results, ...all.filter((block) => block.type !== 'tool_result')] };
}

function wireTool(tool: ToolSpec): Tool {
  return { name: tool.name, description: tool.description, input_schema: tool.inputSchema };
}
