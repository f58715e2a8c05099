import { createServer as createHttpServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { AnswerSchema, ERROR_KINDS, type Answer } from '../../src/core/answer.ts';

/**
 * Shared tools of the fault and fuzz suite (test/fault/): a seeded PRNG so a failure can be
 * replayed, the soak switch, process-level fault counters, a guard that records every outgoing
 * connection, a trap server, and the one check every answer must pass.
 */

/** `npm run test:soak` sets ASKPANDA_SOAK=1: the same tests, many more messages, longer runs. */
export const SOAK = process.env.ASKPANDA_SOAK === '1';

/** The bounded figure in `npm test`, the larger one under soak. */
export function scaled(bounded: number, soak: number): number {
  return SOAK ? soak : bounded;
}

/** A post or event count from the environment (to replay a fuzz at any size); undefined when unset. */
export function postsFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const count = Number(raw);
  if (!Number.isSafeInteger(count) || count < 1)
    throw new Error(`${name} must be a whole number of at least 1, not "${raw}"`);
  return count;
}

/**
 * The seed of a run: ASKPANDA_FUZZ_SEED replays a printed one. `npm test` uses a fixed seed (the
 * bounded suite must give the same verdict every time); the soak run draws a fresh one, to explore.
 */
export function fuzzSeed(fixed: number): number {
  const given = Number(process.env.ASKPANDA_FUZZ_SEED);
  if (Number.isSafeInteger(given) && given > 0) return given;
  return SOAK ? (Date.now() % 2_147_483_647) + 1 : fixed;
}

/** mulberry32: small, fast and good enough to pick test inputs; the same seed gives the same run. */
export class Random {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One of `choices` by weight. */
  weighted<T>(choices: ReadonlyArray<readonly [number, T]>): T {
    const total = choices.reduce((n, [w]) => n + w, 0);
    let r = this.next() * total;
    for (const [w, value] of choices) {
      r -= w;
      if (r < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }
}

/** Counts what must never happen in a process: rejections nobody handled, exceptions nobody caught. */
export function trackProcessFaults(): {
  readonly unhandledRejections: unknown[];
  readonly uncaughtExceptions: unknown[];
  stop(): void;
} {
  const unhandledRejections: unknown[] = [];
  const uncaughtExceptions: unknown[] = [];
  const onRejection = (reason: unknown) => unhandledRejections.push(reason);
  const onException = (err: unknown) => uncaughtExceptions.push(err);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    unhandledRejections,
    uncaughtExceptions,
    stop() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

export interface Connection {
  host: string;
  port: number;
}

/**
 * Records every TCP connection this process opens (fetch, node:http, ws, Redis all end in
 * net.Socket#connect), so a test can assert that nothing but the loopback fakes it started was
 * contacted: a link in a chat message must never be fetched.
 */
export function guardNetwork(): {
  readonly connections: Connection[];
  outside(allowedPorts?: ReadonlySet<number>): Connection[];
  stop(): void;
} {
  const connections: Connection[] = [];
  const original = net.Socket.prototype.connect;
  const patched = function (this: net.Socket, ...args: unknown[]) {
    // Node normalises its own calls into an array [options, callback]; users pass (options) or (port, host).
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    if (first && typeof first === 'object' && 'port' in first) {
      const options = first as { host?: string; port?: number | string };
      connections.push({ host: options.host ?? 'localhost', port: Number(options.port) });
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      connections.push({ host: typeof args[1] === 'string' ? args[1] : 'localhost', port: Number(first) });
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  };
  net.Socket.prototype.connect = patched as typeof original;
  return {
    connections,
    outside(allowedPorts) {
      return connections.filter(
        (c) =>
          !['127.0.0.1', 'localhost', '::1'].includes(c.host) ||
          (allowedPorts !== undefined && !allowedPorts.has(c.port)),
      );
    },
    stop() {
      net.Socket.prototype.connect = original;
    },
  };
}

/** A loopback HTTP server that only records: "another host" that must never be contacted. */
export async function startTrap(): Promise<{ url: string; port: number; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createHttpServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"trap":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port that was free a moment ago (bind to 0, read the port, close). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export { sleep } from '../support/time.ts';

/** Fragments that mean an internal error leaked into what a user reads. */
const LEAKS = [
  /\[object Object\]/,
  /\n\s+at [\w.<>]+ \(/,
  /\bTypeError\b|\bReferenceError\b|\bSyntaxError\b/,
  /\bundefined\b/,
  /\bNaN\b/,
  /Unhandled|UND_ERR|\bERR_[A-Z_]{4,}/,
];

/**
 * What every answer must be, whatever the input: a valid Answer (the `ask --json` contract) with
 * non-empty text; an error answer also has a known `error.kind` and one clear message (a line of
 * at most 600 characters that reads as a sentence, no stack trace or internal error name), which
 * is what the text says. Fragments the user wrote may be echoed, so a leak pattern only counts
 * when the input does not contain it. Returns the problems (empty: fine).
 */
export function answerProblems(answer: Answer, input = ''): string[] {
  const problems: string[] = [];
  const parsed = AnswerSchema.safeParse(answer);
  if (!parsed.success)
    problems.push(
      `not a valid Answer: ${parsed.error.issues
        .slice(0, 2)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  if (typeof answer?.text !== 'string' || answer.text.trim() === '') problems.push('empty text');
  const text = typeof answer?.text === 'string' ? answer.text : '';
  for (const leak of LEAKS) if (leak.test(text) && !leak.test(input)) problems.push(`text leaks ${leak}`);
  if (answer?.error) {
    const { kind, message } = answer.error;
    if (!(ERROR_KINDS as readonly string[]).includes(kind)) problems.push(`unknown error kind ${String(kind)}`);
    problems.push(...sentenceProblems(message, input));
    if (!text.includes(message.slice(0, 40))) problems.push('the text does not say the error message');
  }
  return problems;
}

/** One clear sentence (or two or three short ones) for a person: what happened and what to do. */
export function sentenceProblems(message: unknown, input = ''): string[] {
  if (typeof message !== 'string' || message.trim() === '') return ['empty message'];
  const problems: string[] = [];
  if (message.length > 600) problems.push(`message of ${message.length} characters`);
  if (/\n/.test(message) && !/\n/.test(input)) problems.push('message spans lines');
  if (!/^[\p{Lu}"`'(*_\d]/u.test(message.trim()))
    problems.push(`message does not start like a sentence: ${message.slice(0, 40)}`);
  if (!/(?:[.?!)`"*_]|https?:\/\/\S+)\s*$/u.test(message.trim()))
    problems.push(`message does not end like a sentence: …${message.slice(-40)}`);
  for (const leak of LEAKS) if (leak.test(message) && !leak.test(input)) problems.push(`message leaks ${leak}`);
  return problems;
}
