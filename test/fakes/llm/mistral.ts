import { randomBytes } from 'node:crypto';
import { LlmFake } from './server.ts';
import { ChatCompletionsProtocol } from './openai.ts';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * Mistral speaks chat completions on /v1/chat/completions too; its errors are `{object: "error", …}`,
 * its tool call ids nine letters and digits (it refuses others), its arguments here objects.
 */
export function mistralFake(): LlmFake {
  return new LlmFake(
    new ChatCompletionsProtocol(
      'mistral',
      'cmpl',
      (status, message) => ({
        object: 'error',
        message,
        type: status === 429 ? 'rate_limited' : status >= 500 ? 'internal_server_error' : 'invalid_request_error',
        param: null,
        code: String(status),
      }),
      {
        newId: () => [...randomBytes(9)].map((byte) => ALNUM[byte % ALNUM.length]).join(''),
        idRule: /^[a-zA-Z0-9]{9}$/,
        objectArguments: true,
      },
    ),
  );
}
