import { pino, type Logger } from 'pino';
import { currentRequest } from './request-context.ts';

export type { Logger };

/**
 * Structured logs (JSON lines) go to stderr so `askpanda ask --json` keeps stdout for the Answer
 * alone. Known secret-bearing fields are censored by pino; free text is redacted by callers
 * (redact.ts); message text and answers are never logged at info. Lines written while a question
 * is answered carry its `requestId` (request-context.ts).
 */
export function createLogger(
  level: string = process.env.ASKPANDA_LOG_LEVEL ?? 'info',
  destination: pino.DestinationStream = pino.destination({ dest: 2, sync: true }),
): Logger {
  return pino(
    {
      level,
      base: { name: 'askpanda' },
      mixin: () => {
        const request = currentRequest();
        return request ? { requestId: request.requestId } : {};
      },
      redact: {
        paths: [
          'token',
          'apiKey',
          'authorization',
          'headers.authorization',
          'headers.cookie',
          '*.token',
          '*.apiKey',
          '*.password',
          '*.signingSecret',
          '*.botToken',
          '*.appToken',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** A logger that drops everything: tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
