import pLimit from 'p-limit';
import { Admission, type AdmissionLimits } from '../bot/admission.ts';
import { questionsTotal } from '../core/metrics.ts';

/** A question turned away by the limits: the caller answers 429 (HTTP) or a tool error (MCP). */
export class BusyError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    reason: string,
  ) {
    super(`I am busy right now (${reason}). Please ask again in about ${retryAfterSeconds} s.`);
    this.name = 'BusyError';
  }
}

/**
 * Back-pressure for the HTTP surfaces (MCP, /v1, the web chat), with the same `limits` settings as
 * the chat platforms' conversation core: at most `maxConcurrent` answers at once, `maxQueued` more
 * waiting, per-client and per-minute caps. One gate per process, shared by every HTTP surface.
 */
export class QuestionGate {
  private readonly admission: Admission;
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(limits: AdmissionLimits) {
    this.admission = new Admission(limits);
    this.limit = pLimit(limits.maxConcurrent);
  }

  /** Runs `work` for `client` (e.g. "v1:203.0.113.7") or throws BusyError without running it. */
  async run<T>(surface: string, client: string, work: () => Promise<T>): Promise<T> {
    const admitted = this.admission.tryAdmit(`${surface}:${client}`);
    if (!admitted.ok) {
      questionsTotal.inc({ platform: surface === 'mcp' ? 'mcp' : 'http', agent: 'general', outcome: 'busy' });
      throw new BusyError(admitted.retryAfterSeconds, admitted.reason);
    }
    try {
      return await this.limit(work);
    } finally {
      admitted.release();
    }
  }
}
