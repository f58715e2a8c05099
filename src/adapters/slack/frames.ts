/** Where Slack posts events, clicks and slash commands in HTTP mode (the app manifest's request URLs). */
export const SLACK_EVENTS_PATH = '/slack/events';

/** Slack's own cap on an Events API or interactivity request body (Bolt's bodyLimit). */
export const EVENTS_MAX_BODY_BYTES = 1024 * 1024;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Why a request to /slack/events is not one Slack sends, or undefined when Bolt may have it. Bolt
 * reads `body.type` of whatever JSON it parsed: a signed body of `null` threw inside its handler,
 * an unhandled rejection (which ends a Node process) and a request that never got an answer.
 */
export function eventsRequestProblem(body: Buffer, contentType: string | undefined): string | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  let parsed: unknown;
  try {
    if (type === 'application/x-www-form-urlencoded') {
      const payload = new URLSearchParams(body.toString('utf8')).get('payload');
      if (payload === null) return undefined; // a slash command or ssl_check: form fields Bolt reads as strings
      parsed = JSON.parse(payload);
    } else {
      parsed = JSON.parse(body.toString('utf8'));
    }
  } catch {
    return 'the body is not JSON';
  }
  if (!isObject(parsed)) return 'the body is not a JSON object';
  if (typeof parsed.type !== 'string') return 'the body has no type';
  if (parsed.type === 'event_callback' && !(isObject(parsed.event) && typeof parsed.event.type === 'string'))
    return 'the event_callback has no event';
  return undefined;
}

/**
 * Why a Socket Mode frame is not one Slack sends, or undefined when the client may have it. The
 * client reads `event.payload.event.type` of any JSON frame: a frame without a payload threw in
 * its async message handler, an unhandled rejection (which ends a Node process).
 */
export function socketFrameProblem(text: string): string | undefined {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!isObject(frame) || typeof frame.type !== 'string') return 'not an envelope';
  if (frame.type === 'hello' || frame.type === 'disconnect') return undefined;
  if (typeof frame.envelope_id !== 'string' || frame.envelope_id === '') return 'an envelope without an envelope_id';
  if (!isObject(frame.payload)) return 'an envelope without a payload';
  if (frame.type === 'events_api' && !(isObject(frame.payload.event) && typeof frame.payload.event.type === 'string'))
    return 'an events_api envelope without an event';
  return undefined;
}
