import type { Logger } from 'pino';
import { findIds } from '../core/ids.ts';
import type { Turn } from '../core/turn.ts';
import type { Surface } from './surface.ts';
import type { ThreadHistory } from './thread-history.ts';

/** Earlier thread messages read from the platform when a thread has no stored history. */
const SEED_MESSAGES_LIMIT = 50;

/**
 * A thread that began before the bot was asked has no stored history: its earlier messages are
 * read from the platform once, so "how can I fix it?" knows which job the thread is about.
 */
export async function seedFromPlatform<M>(
  surface: Surface<M>,
  history: ThreadHistory,
  thread: { key: string; channel: string; thread: string; messageId: string },
  asked: (text: string) => string,
  log: Logger,
): Promise<void> {
  if (!surface.readThread) return;
  if ((await history.load(thread.key).catch(() => [])).length > 0) return;
  try {
    const earlier = await surface.readThread({ channel: thread.channel, thread: thread.thread }, SEED_MESSAGES_LIMIT);
    const turns: Turn[] = earlier
      .filter((m) => m.id !== thread.messageId && m.text.trim() !== '')
      .map((m) => {
        const text = asked(m.text);
        const ids = Object.fromEntries(
          findIds(text)
            .mentions.filter((x) => x.kind !== 'bare')
            .map((x) => [x.kind === 'job' ? 'pandaid' : 'jeditaskid', x.id]),
        );
        return { role: m.fromBot ? 'assistant' : 'user', text, at: m.at, ...ids } satisfies Turn;
      });
    if (turns.length) await history.seed(thread.key, turns);
  } catch (err) {
    // Without the right to read the channel the question is answered without the thread.
    log.info({ err: String(err) }, 'could not read the thread from the platform');
  }
}
