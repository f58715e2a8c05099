import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What every log line written on behalf of one question carries. */
export interface RequestContext {
  requestId: string;
  platform?: string;
}

const current = new AsyncLocalStorage<RequestContext>();

/**
 * Runs `work` as one request: every log line written inside it (adapter, agents, monitor and model
 * calls, however deep) gets the same `requestId`, through the logger's mixin.
 */
export function withRequest<T>(context: Partial<RequestContext>, work: () => Promise<T>): Promise<T> {
  return current.run({ requestId: context.requestId ?? randomUUID().slice(0, 13), platform: context.platform }, work);
}

export function currentRequest(): RequestContext | undefined {
  return current.getStore();
}
