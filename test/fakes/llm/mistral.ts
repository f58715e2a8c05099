import { LlmFake } from './server.ts';
import { ChatCompletionsProtocol } from './openai.ts';

/** Mistral speaks chat completions on /v1/chat/completions too; its errors are `{object: "error", …}`. */
export function mistralFake(): LlmFake {
  return new LlmFake(
    new ChatCompletionsProtocol('mistral', 'cmpl', (status, message) => ({
      object: 'error',
      message,
      type: status === 429 ? 'rate_limited' : status >= 500 ? 'internal_server_error' : 'invalid_request_error',
      param: null,
      code: String(status),
    })),
  );
}
