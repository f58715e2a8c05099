import { request as httpRequest, type Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import { HttpFailure } from './errors.ts';
import { asNetworkFailure } from './network-error.ts';
import { headersForHop, nextHop, type RedirectPolicy } from './redirects.ts';

/**
 * One GET and the redirects it is allowed to follow, over node:http(s). Not fetch or undici: reading
 * a 1 GiB body over loopback with --max-semi-space-size=2, peak RSS was 103-118 MiB with node:http,
 * 111-135 MiB with undici 7.30's request() and 119-131 MiB with fetch (three runs each), and
 * node:https takes a client certificate without a dispatcher of its own.
 */

export interface Agents {
  http?: HttpAgent;
  https?: HttpsAgent;
}

/** Stops whatever part of an exchange is running (the request, or the body being read) with a reason. */
export class Interrupt {
  reason?: HttpFailure;
  private current?: { destroy(error?: Error): unknown };

  track(part: { destroy(error?: Error): unknown }): void {
    this.current = part;
    if (this.reason) part.destroy(this.reason);
  }

  fire(reason: HttpFailure): void {
    if (this.reason) return;
    this.reason = reason;
    this.current?.destroy(reason);
  }
}

export interface Reached {
  message: IncomingMessage;
  /** The URL that answered (after redirects). */
  url: URL;
}

/** GETs `start`, following redirects as `policy` allows; the answer's body is left unread. */
export async function getFollowing(
  start: URL,
  headersFor: (url: URL) => Record<string, string>,
  policy: RedirectPolicy | undefined,
  agents: Agents,
  interrupt: Interrupt,
): Promise<Reached> {
  const chain: URL[] = [];
  let url = start;
  for (;;) {
    chain.push(url);
    const message = await getOnce(url, headersForHop(headersFor(url), start, url), agents, interrupt);
    const location = message.headers.location;
    const status = message.statusCode ?? 0;
    if (!policy || status < 300 || status >= 400 || status === 304 || !location) return { message, url };
    message.resume();
    message.destroy();
    url = nextHop(policy, url, location, status, chain);
  }
}

function getOnce(
  url: URL,
  headers: Record<string, string>,
  agents: Agents,
  interrupt: Interrupt,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') {
      reject(new HttpFailure('redirect_refused', `not an http(s) URL (${url.protocol})`));
      return;
    }
    const send = secure ? httpsRequest : httpRequest;
    const agent = secure ? agents.https : agents.http;
    const request = send(url, { method: 'GET', headers, ...(agent ? { agent } : {}) }, (message) => {
      interrupt.track(message);
      resolve(message);
    });
    request.on('error', (err) => reject(interrupt.reason ?? asNetworkFailure(err)));
    interrupt.track(request);
    request.end();
  });
}
