import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs go to stderr so `askpanda ask --json` keeps stdout for the Answer alone.
 * Known secret-bearing fields are censored by pino; free text is redacted by callers (redact.ts).
 */
export function createLogger(level: string = process.env.ASKPANDA_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { name: 'askpanda' },
      redact: {
        paths: ['token', 'apiKey', 'authorization', 'headers.authorization', 'headers.cookie', '*.token', '*.apiKey', '*.password', '*.signingSecret', '*.botToken', '*.appToken'],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that drops everything: tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
