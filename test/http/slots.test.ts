import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/util/slots.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('Slots (the one concurrency cap, on p-limit)', () => {
  it('grants `capacity` slots, queues the rest in order, and hands a released slot on', async () => {
    const slots = new Slots(2);
    const order: number[] = [];
    const releases = await Promise.all([slots.acquire(), slots.acquire()]);
    const waiting = [3, 4].map((n) => slots.acquire().then((release) => (order.push(n), release)));
    await tick();
    expect({ inFlight: slots.inFlight, waiting: slots.waiting }).toEqual({ inFlight: 2, waiting: 2 });
    releases[0]!();
    releases[0]!(); // a second release of the same slot frees nothing more
    await tick();
    expect(order).toEqual([3]);
    expect(slots.inFlight).toBe(2);
    releases[1]!();
    const granted = await Promise.all(waiting);
    expect(order).toEqual([3, 4]);
    for (const release of granted) release();
    await tick();
    expect(slots.inFlight).toBe(0);
  });

  it('a waiter whose signal aborts gives up, and its turn passes to the next', async () => {
    const slots = new Slots(1);
    const held = await slots.acquire();
    const controller = new AbortController();
    const gaveUp = slots.acquire(controller.signal);
    const next = slots.acquire();
    await tick();
    controller.abort(new Error('the question was cancelled'));
    await expect(gaveUp).rejects.toThrow('the question was cancelled');
    expect(slots.waiting).toBe(1);
    held();
    const release = await next;
    expect(slots.inFlight).toBe(1);
    release();
  });

  it('an already aborted signal is refused at once', async () => {
    const slots = new Slots(1);
    await expect(slots.acquire(AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    expect(slots.inFlight).toBe(0);
  });
});
