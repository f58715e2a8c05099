import { sleep } from '../support/time.ts';
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { ThreadHistory } from '../../src/bot/thread-history.ts';

describe('thread history written while the answer is posted', () => {
  it('a load in the same process waits for a save of its thread still being written', async () => {
    const space = new Keyv({ store: new Map(), namespace: 'history' });
    // A slow store (busy disk, busy Redis): the write lands only when released.
    let releaseWrite!: () => void;
    const released = new Promise<void>((resolve) => (releaseWrite = resolve));
    const write = space.set.bind(space);
    space.set = (async (...args: Parameters<typeof space.set>) => {
      await released;
      return write(...args);
    }) as typeof space.set;
    // The bot and the Slack adapter each hold a ThreadHistory on the same namespace.
    const budget = { maxTurns: 20, maxChars: 20_000, ttlDays: 30 };
    const bot = new ThreadHistory(space, budget);
    const adapter = new ThreadHistory(space, budget);
    const key = 'slack:C07ATLAS01:1732806000.000100';
    const turns = [
      { role: 'user' as const, text: 'why did job 6802258254 fail?', at: 1732806000000, pandaid: 6802258254 },
      {
        role: 'assistant' as const,
        text: 'Job 6802258254 failed at ANALY_MWT2_UCORE …',
        at: 1732806000500,
        pandaid: 6802258254,
      },
    ];

    const saving = bot.save(key, turns);
    const loading = adapter.load(key);
    expect(await adapter.load('slack:C07ATLAS01:1732806000.000200')).toEqual([]); // other threads do not wait
    let loaded = false;
    void loading.then(() => (loaded = true));
    await sleep(20);
    expect(loaded).toBe(false);
    releaseWrite();
    await saving;
    expect(await loading).toEqual(turns);
  });
});
