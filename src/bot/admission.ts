/** Limits on what one process takes on at once (config `limits`); per process, also with replicas. */
export interface AdmissionLimits {
  /** Questions answered at the same time. */
  maxConcurrent: number;
  /** Questions waiting for a free slot; more are turned away as busy. */
  maxQueued: number;
  /** Questions of one person in flight (waiting or being answered). */
  perUserInFlight: number;
  /** Questions of one person accepted per minute. */
  perUserPerMinute: number;
  /** Questions accepted per minute in all. */
  perMinute: number;
}

/** The default back-pressure (config `limits`): 16 answered at once, more wait their turn. */
export const DEFAULT_LIMITS: AdmissionLimits = {
  maxConcurrent: 16,
  maxQueued: 200,
  perUserInFlight: 3,
  perUserPerMinute: 20,
  perMinute: 600,
};

export type Admitted = { ok: true; release: () => void };
export type Refused = { ok: false; retryAfterSeconds: number; reason: string };

/** What a refused question is told, on every surface (a chat reply, HTTP 429, an MCP tool error). */
export function busySentence(refused: Refused): string {
  return `I am busy right now (${refused.reason}). Please ask again in about ${refused.retryAfterSeconds} s.`;
}

const MINUTE_MS = 60_000;

/**
 * Back-pressure: decides whether a question is taken now or answered "busy, try again in N s".
 * In-flight counts are exact; per-minute limits are sliding windows of accept times.
 */
export class Admission {
  private inFlight = 0;
  private readonly perUser = new Map<string, number>();
  private readonly acceptedAt: number[] = [];
  private readonly userAcceptedAt = new Map<string, number[]>();
  /** Moving average of how long an answer takes, for the retry estimate. */
  private averageMs = 3_000;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get active(): number {
    return this.inFlight;
  }

  /**
   * `perUser: false` for the one person at a terminal or a local MCP client, who may well ask in
   * quick loops: only the process-wide limits apply, not those meant for people sharing a channel.
   */
  tryAdmit(user: string, options: { perUser?: boolean } = {}): Admitted | Refused {
    const perPerson = options.perUser ?? true;
    const now = this.now();
    prune(this.acceptedAt, now);
    const userTimes = this.userAcceptedAt.get(user) ?? [];
    prune(userTimes, now);
    const capacity = this.limits.maxConcurrent + this.limits.maxQueued;
    if (this.inFlight >= capacity) {
      const waves = Math.ceil((this.inFlight - this.limits.maxConcurrent + 1) / Math.max(1, this.limits.maxConcurrent));
      return {
        ok: false,
        retryAfterSeconds: clampSeconds((waves * this.averageMs) / 1000),
        reason: `${questions(this.inFlight)} ${this.inFlight === 1 ? 'is' : 'are'} being answered or waiting`,
      };
    }
    if (perPerson && (this.perUser.get(user) ?? 0) >= this.limits.perUserInFlight) {
      return {
        ok: false,
        retryAfterSeconds: clampSeconds(this.averageMs / 1000),
        reason: `you already have ${questions(this.limits.perUserInFlight)} being answered`,
      };
    }
    if (perPerson && userTimes.length >= this.limits.perUserPerMinute) {
      return {
        ok: false,
        retryAfterSeconds: clampSeconds((userTimes[0]! + MINUTE_MS - now) / 1000),
        reason: `you asked ${questions(userTimes.length)} in the last minute (the limit is ${this.limits.perUserPerMinute})`,
      };
    }
    if (this.acceptedAt.length >= this.limits.perMinute) {
      return {
        ok: false,
        retryAfterSeconds: clampSeconds((this.acceptedAt[0]! + MINUTE_MS - now) / 1000),
        reason: `${questions(this.acceptedAt.length)} came in during the last minute`,
      };
    }
    this.inFlight++;
    this.perUser.set(user, (this.perUser.get(user) ?? 0) + 1);
    this.acceptedAt.push(now);
    userTimes.push(now);
    this.userAcceptedAt.set(user, userTimes);
    if (this.userAcceptedAt.size > 10_000) this.forgetIdleUsers(now);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
        const left = (this.perUser.get(user) ?? 1) - 1;
        if (left > 0) this.perUser.set(user, left);
        else this.perUser.delete(user);
        this.averageMs = 0.9 * this.averageMs + 0.1 * Math.max(0, this.now() - now);
      },
    };
  }

  private forgetIdleUsers(now: number): void {
    for (const [user, times] of this.userAcceptedAt) {
      prune(times, now);
      if (times.length === 0) this.userAcceptedAt.delete(user);
    }
  }
}

function prune(times: number[], now: number): void {
  let drop = 0;
  while (drop < times.length && times[drop]! <= now - MINUTE_MS) drop++;
  if (drop) times.splice(0, drop);
}

function clampSeconds(seconds: number): number {
  return Math.min(300, Math.max(1, Math.ceil(seconds)));
}

function questions(n: number): string {
  return `${n} question${n === 1 ? '' : 's'}`;
}
