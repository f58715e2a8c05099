import { settingChecks } from '../config/schema.ts';
import type { Message, Tool } from 'ollama';
import type {
  ChatMessage,
  ChatModel,
  ChatRequest,
  ChatResult,
  ChatStreamEvent,
  StreamRequest,
  ToolSpec,
} from './chat-model.ts';
import { defineProvider } from './provider.ts';
import { lazySdk, providerFetch, providerError, requireText, result, usageOrEstimate } from './provider-support.ts';
import { answerWithCalls, argumentsObject, newToolCallId, toolCallFrom } from './tool-call-support.ts';

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
  readonly supportsTools = true;

  constructor(private readonly options: OllamaOptions) {
    this.id = `ollama:${options.model}`;
  }

  private body(request: ChatRequest) {
    return {
      model: this.options.model,
      messages: request.messages.map(wireMessage),
      ...(request.json ? { format: 'json' } : {}),
      // Ollama has no tool choice: `none` sends no tools (the calls and results already made stay in the messages).
      ...(request.tools?.length && request.toolChoice !== 'none' ? { tools: request.tools.map(wireTool) } : {}),
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
      // Ollama gives calls no ids: the conversation needs them to pair each call with its result.
      const calls = (response.message.tool_calls ?? []).map((call) =>
        toolCallFrom(newToolCallId(), call.function.name, call.function.arguments),
      );
      return answerWithCalls(this.id, request, response.message.content, calls, {
        input: response.prompt_eval_count,
        output: response.eval_count,
      });
    } catch (err) {
      throw providerError(this.id, err, observer.retryAfter());
    }
  }

  async *stream(request: StreamRequest): AsyncIterable<ChatStreamEvent> {
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

/** Ollama's chat messages: calls (arguments as an object) on the assistant message, results as `tool` with the tool's name. */
function wireMessage(message: ChatMessage): Message {
  switch (message.role) {
    case 'tool':
      return { role: 'tool', content: message.content, tool_name: message.toolName };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls?.length
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                function: { name: call.name, arguments: argumentsObject(call) },
              })),
            }
          : {}),
      };
    default:
      return { role: message.role, content: message.content };
  }
}

function wireTool(tool: ToolSpec): Tool {
  return {
    type: 'function',
    function: {
      name: tool.name,
      description: tool.description,
      parameters: tool.inputSchema as Tool['function']['parameters'],
    },
  };
}
