import { emptyDraft, errorDraft, type AnswerDraft } from '../core/answer.ts';
import { echo } from '../util/echo.ts';
import type { Command } from '../bot/commands.ts';
import type { Incoming } from '../core/incoming.ts';
import type { Config } from '../config/schema.ts';
import type { PandaClient } from '../panda/client.ts';
import { isAskPandaError } from '../core/errors.ts';
import { isFinalTaskState } from './builder.ts';
import { DigestData } from './digest-data.ts';
import { changeRefusal } from './permissions.ts';
import { collectTaskWindows } from './runner.ts';
import { buildDigest } from './builder.ts';
import { daylightSavingNotes, describeSchedule, nextRunAfter, parseSchedule, type Schedule } from '../core/schedule.ts';
import type { Subscription } from './subscription.ts';
import type { SubscriptionStore } from './subscription-store.ts';
import { canonicalZone, formatLocal } from '../util/zone.ts';

export interface DigestCommandDeps {
  config: Pick<Config, 'digest'>;
  subscriptions: SubscriptionStore;
  client: PandaClient;
  /** The chat platforms digests are posted to (src/adapters/registry.ts): `subscribe` works in their channels. */
  chatPlatforms: readonly ChatPlatformName[];
  now?: () => number;
}

export interface ChatPlatformName {
  name: string;
  /** For people: "Slack". */
  title: string;
}

/** Surfaces besides the chat platforms that get digests: the terminal's are printed by `digest run`. */
const TERMINAL_SURFACES: readonly string[] = ['cli', 'console'];

export const SUBSCRIBE_USAGE = 'subscribe task N [daily at HH:MM | weekdays at HH:MM | every Nh] [tz Area/City]';

type Parsed<T> = { ok: T } | { problem: string };

/** `subscribe [to] [task] N [schedule] [tz Zone]`, schedule and zone in either order. */
export function parseSubscribeArgs(
  args: readonly string[],
  defaults: { schedule: Schedule; timezone: string },
): Parsed<{ jeditaskid: number; schedule: Schedule; timezone: string; explicitSchedule: boolean }> {
  let words = [...args];
  if (words[0]?.toLowerCase() === 'to') words = words.slice(1);
  if (/^(task|jeditaskid)$/i.test(words[0] ?? '')) words = words.slice(1);
  const id = (words[0] ?? '').replace(/^#/, '');
  if (!/^\d{1,15}$/.test(id)) {
    const got = words[0] ? `"${echo(words[0])}" is not a task id` : 'Which task?';
    return {
      problem: `${got}: say \`${SUBSCRIBE_USAGE}\`, e.g. \`subscribe task 46374283 weekdays at 09:30 tz Europe/Zurich\`.`,
    };
  }
  words = words.slice(1);
  let schedule: Schedule | undefined;
  let timezone: string | undefined;
  while (words.length) {
    const head = words[0]!.toLowerCase();
    if (head === 'tz' || head === 'timezone' || head === 'in') {
      const name = words[1];
      if (!name)
        return { problem: `After "${head}" I need a time zone such as Europe/Zurich, America/Chicago or UTC.` };
      const zone = canonicalZone(name);
      if (!zone)
        return {
          problem:
            `I do not know the time zone "${echo(name)}"; use an IANA Area/City name such as Europe/Zurich, ` +
            `America/Chicago, Asia/Tokyo, or UTC.`,
        };
      if (timezone) return { problem: 'Give the time zone once (e.g. `tz Europe/Zurich`).' };
      timezone = zone;
      words = words.slice(2);
      continue;
    }
    const parsed = parseSchedule(words);
    if (parsed && 'problem' in parsed) return parsed;
    if (parsed) {
      if (schedule) return { problem: 'Give one schedule: `daily at HH:MM`, `weekdays at HH:MM` or `every Nh`.' };
      schedule = parsed.schedule;
      words = parsed.rest;
      continue;
    }
    return { problem: `I did not understand "${echo(words.join(' '))}"; the form is \`${SUBSCRIBE_USAGE}\`.` };
  }
  return {
    ok: {
      jeditaskid: Number(id),
      schedule: schedule ?? defaults.schedule,
      timezone: timezone ?? defaults.timezone,
      explicitSchedule: Boolean(schedule),
    },
  };
}

function here(incoming: Incoming): string {
  return incoming.isDirect ? 'this conversation' : 'this channel';
}

/** "This channel" / "This conversation" at the start of a sentence. */
function Here(incoming: Incoming): string {
  const text = here(incoming);
  return text[0]!.toUpperCase() + text.slice(1);
}

function defaultSchedule(config: Pick<Config, 'digest'>): { schedule: Schedule; timezone: string } {
  const parsed = parseSchedule(config.digest.schedule.trim().split(/\s+/));
  const schedule: Schedule = parsed && 'schedule' in parsed ? parsed.schedule : { kind: 'daily', hour: 8, minute: 0 };
  return { schedule, timezone: canonicalZone(config.digest.timezone) ?? 'UTC' };
}

function when(subscription: Pick<Subscription, 'schedule' | 'timezone'>): string {
  return `${describeSchedule(subscription.schedule)} ${subscription.timezone}`;
}

function linkTo(client: PandaClient, jeditaskid: number): string {
  return `[task ${jeditaskid}](${client.taskPage(jeditaskid)})`;
}

/** The chat commands of digests: registered in the bot's CommandRegistry (every surface). */
export function digestCommands(deps: DigestCommandDeps): Command[] {
  const now = deps.now ?? Date.now;
  const { subscriptions, client, config } = deps;
  const digestSurfaces = [...deps.chatPlatforms.map((p) => p.name), ...TERMINAL_SURFACES];
  const chatTitles = new Intl.ListFormat('en', { type: 'disjunction' }).format(deps.chatPlatforms.map((p) => p.title));

  const subscribe: Command = {
    name: 'subscribe',
    summary: "get a digest of a task's new failures in this channel (default daily at 08:00)",
    usage: SUBSCRIBE_USAGE,
    accepts: () => true,
    async run({ incoming, args }): Promise<AnswerDraft> {
      if (!digestSurfaces.includes(incoming.platform)) {
        return errorDraft(
          'command',
          'bad_input',
          `Digests are posted in ${chatTitles} channels (or printed by \`askpanda digest run\` for the terminal), ` +
            'so I cannot subscribe here; say `subscribe task N` in the channel that should get them.',
        );
      }
      const refusal = changeRefusal(config, incoming);
      if (refusal) return errorDraft('command', 'forbidden', refusal);
      const parsed = parseSubscribeArgs(args, defaultSchedule(config));
      if ('problem' in parsed) return errorDraft('command', 'bad_input', parsed.problem);
      const { jeditaskid, schedule, timezone } = parsed.ok;
      const existing = await subscriptions.get(incoming.platform, incoming.channel, jeditaskid);
      if (existing) {
        return errorDraft(
          'command',
          'bad_input',
          `${Here(incoming)} already watches task ${jeditaskid} (${when(existing)}); to change that, ` +
            `\`unsubscribe task ${jeditaskid}\` and subscribe again.`,
        );
      }
      const watched = (await subscriptions.forChannel(incoming.platform, incoming.channel)).length;
      if (watched >= config.digest.maxPerChannel) {
        return errorDraft(
          'command',
          'bad_input',
          `${Here(incoming)} already watches ${watched} tasks, the most one channel may (digest.maxPerChannel); unsubscribe one first.`,
        );
      }
      let task;
      try {
        task = (await client.tasksWithJobCounts([jeditaskid])).get(jeditaskid);
      } catch (err) {
        if (isAskPandaError(err)) {
          return errorDraft(
            'command',
            err.kind === 'rate_limited' ? 'rate_limited' : 'monitor_unavailable',
            `I could not check task ${jeditaskid} with the monitor just now, so I did not subscribe; please try again in a few minutes.`,
            { links: [{ title: `Task ${jeditaskid}`, url: client.taskPage(jeditaskid) }] },
          );
        }
        throw err;
      }
      if (!task)
        return errorDraft(
          'command',
          'not_found',
          `The monitor has no task ${jeditaskid}, so I did not subscribe; check the number, or open ${client.taskPage(jeditaskid)}.`,
        );
      if (isFinalTaskState(task.status)) {
        return errorDraft(
          'command',
          'bad_input',
          `Task ${jeditaskid} is already ${task.status}, so it will have no new failures to report; I did not subscribe ${here(incoming)}.`,
          { links: [{ title: `Task ${jeditaskid}`, url: client.taskPage(jeditaskid) }] },
        );
      }
      const at = now();
      const subscription = await subscriptions.add({
        platform: incoming.platform,
        channel: incoming.channel,
        jeditaskid,
        taskname: task.taskname,
        schedule,
        timezone,
        createdBy: incoming.user,
        createdAt: new Date(at).toISOString(),
      });
      const next = nextRunAfter(schedule, timezone, at);
      const name = task.taskname ? ` (\`${task.taskname}\`)` : '';
      const draft = emptyDraft(
        'command',
        `Subscribed: ${here(incoming)} gets a digest of new failures in ` +
          `${linkTo(client, jeditaskid)}${name}, ${when(subscription)}. The first comes ` +
          `${formatLocal(next, timezone)} and covers failures from now on; stop it with \`unsubscribe task ${jeditaskid}\`.`,
      );
      const notes = daylightSavingNotes(schedule, timezone, at);
      if (notes.length) draft.sections.push({ title: 'Note', body: notes.join('\n') });
      draft.facts = {
        jeditaskid,
        status: task.status,
        schedule: describeSchedule(schedule),
        timezone,
        nextRun: new Date(next).toISOString(),
        subscriptionId: subscription.id,
      };
      draft.links = [{ title: `Task ${jeditaskid}`, url: client.taskPage(jeditaskid) }];
      return draft;
    },
  };

  const unsubscribe: Command = {
    name: 'unsubscribe',
    summary: "stop a task's digests here (`all`: every task this channel watches)",
    usage: 'unsubscribe task N | all',
    accepts: () => true,
    async run({ incoming, args }): Promise<AnswerDraft> {
      const refusal = changeRefusal(config, incoming);
      if (refusal) return errorDraft('command', 'forbidden', refusal);
      let words = [...args];
      if (/^(from|to)$/i.test(words[0] ?? '')) words = words.slice(1);
      if (words.length === 1 && /^(all|everything)$/i.test(words[0]!)) {
        const mine = await subscriptions.forChannel(incoming.platform, incoming.channel);
        if (mine.length === 0) return emptyDraft('command', `${Here(incoming)} watches no tasks; nothing to stop.`);
        for (const { subscription } of mine) await subscriptions.remove(subscription);
        const ids = mine.map((m) => m.subscription.jeditaskid).sort((a, b) => a - b);
        const draft = emptyDraft(
          'command',
          `Stopped all digests of ${here(incoming)}: ${ids.length === 1 ? 'task' : 'tasks'} ${ids.join(', ')}.`,
        );
        draft.facts = { unsubscribed: ids };
        return draft;
      }
      if (/^(task|jeditaskid)$/i.test(words[0] ?? '')) words = words.slice(1);
      const id = (words[0] ?? '').replace(/^#/, '');
      if (words.length !== 1 || !/^\d{1,15}$/.test(id))
        return errorDraft(
          'command',
          'bad_input',
          'Say `unsubscribe task N` for one task, or `unsubscribe all` for every task this channel watches.',
        );
      const jeditaskid = Number(id);
      const existing = await subscriptions.get(incoming.platform, incoming.channel, jeditaskid);
      if (!existing)
        return errorDraft(
          'command',
          'bad_input',
          `${Here(incoming)} does not watch task ${jeditaskid}; \`subscriptions\` lists what it watches.`,
        );
      await subscriptions.remove(existing);
      const draft = emptyDraft(
        'command',
        `Stopped: ${here(incoming)} no longer gets digests of ${linkTo(client, jeditaskid)}.`,
      );
      draft.facts = { unsubscribed: [jeditaskid] };
      return draft;
    },
  };

  const list: Command = {
    name: 'subscriptions',
    summary: 'the tasks this channel watches, their schedules and next digests',
    usage: 'subscriptions',
    async run({ incoming }): Promise<AnswerDraft> {
      const mine = (await subscriptions.forChannel(incoming.platform, incoming.channel)).sort(
        (a, b) => a.subscription.jeditaskid - b.subscription.jeditaskid,
      );
      if (mine.length === 0) {
        return emptyDraft(
          'command',
          `${Here(incoming)} watches no tasks. Subscribe with \`subscribe task 46374283\` (daily at 08:00 ` +
            `${defaultSchedule(config).timezone}), or e.g. \`subscribe task 46374283 weekdays at 09:30 tz Europe/Zurich\`.`,
        );
      }
      const at = now();
      const lines = mine.map(({ subscription: s, state }) => {
        const name = s.taskname ? ` \`${s.taskname}\`` : '';
        const parts = [
          `${linkTo(client, s.jeditaskid)}${name}`,
          when(s),
          `next ${formatLocal(nextRunAfter(s.schedule, s.timezone, at), s.timezone, { zoneName: false })}`,
        ];
        if (state && state.lastEnd !== s.createdAt)
          parts.push(`last digest ${formatLocal(Date.parse(state.lastEnd), s.timezone, { zoneName: false })}`);
        if (state?.retryAt && state.pendingEnd) parts.push('waiting for the monitor');
        return `- ${parts.join(' · ')}`;
      });
      const draft = emptyDraft(
        'command',
        `${Here(incoming)} watches ${mine.length === 1 ? '1 task' : `${mine.length} tasks`}:\n${lines.join('\n')}`,
      );
      draft.facts = {
        subscriptions: mine.map(({ subscription: s }) => ({
          jeditaskid: s.jeditaskid,
          schedule: describeSchedule(s.schedule),
          timezone: s.timezone,
        })),
      };
      return draft;
    },
  };

  const digestNow: Command = {
    name: 'digest',
    summary:
      "the digest as it would be posted now (this channel's tasks, or `task N`), without waiting for the schedule",
    usage: 'digest now [task N]',
    accepts: (args) => args.length === 0 || args[0]?.toLowerCase() === 'now',
    async run({ incoming, args }): Promise<AnswerDraft> {
      let words = args.slice(args[0]?.toLowerCase() === 'now' ? 1 : 0);
      if (args.length === 0)
        return errorDraft(
          'command',
          'bad_input',
          'Say `digest now` for the tasks this channel watches, or `digest now task N` for one task.',
        );
      if (/^(for|of)$/i.test(words[0] ?? '')) words = words.slice(1);
      if (/^(task|jeditaskid)$/i.test(words[0] ?? '')) words = words.slice(1);
      const at = now();
      const mine = await subscriptions.forChannel(incoming.platform, incoming.channel);
      let items: Array<{
        jeditaskid: number;
        window: { after: number; until: number };
        previous?: { status?: string; seenCodes: string[] };
      }>;
      let timezone = defaultSchedule(config).timezone;
      if (words.length) {
        const id = words[0]!.replace(/^#/, '');
        if (words.length !== 1 || !/^\d{1,15}$/.test(id))
          return errorDraft(
            'command',
            'bad_input',
            'Say `digest now` for the tasks this channel watches, or `digest now task N` for one task.',
          );
        const jeditaskid = Number(id);
        const watched = mine.find((m) => m.subscription.jeditaskid === jeditaskid);
        if (watched) timezone = watched.subscription.timezone;
        items = [watched ? windowOf(watched, at) : { jeditaskid, window: { after: at - 86_400_000, until: at } }];
      } else {
        if (mine.length === 0)
          return errorDraft(
            'command',
            'bad_input',
            `${Here(incoming)} watches no tasks; \`digest now task 46374283\` shows one task's last 24 hours, ` +
              `\`subscribe task 46374283\` watches it.`,
          );
        timezone = mine[0]!.subscription.timezone;
        items = mine.map((m) => windowOf(m, at));
      }
      const collected = await collectTaskWindows(new DigestData(client), items);
      const only = collected.length === 1 ? collected[0]! : undefined;
      if (only && !only.statusFetch.ok && (only.statusFetch.error.kind === 'not_found' || !only.errorsFetch.ok)) {
        const id = only.jeditaskid;
        if (only.statusFetch.error.kind === 'not_found')
          return errorDraft(
            'command',
            'not_found',
            `The monitor has no task ${id}; check the number, or open ${client.taskPage(id)}.`,
          );
        return errorDraft(
          'command',
          only.statusFetch.error.kind === 'rate_limited' ? 'rate_limited' : 'monitor_unavailable',
          `I could not read task ${id} from the monitor just now; try again in a few minutes, or open ${client.taskPage(id)}.`,
        );
      }
      const built = buildDigest({
        tasks: collected,
        timezone,
        quiet: 'post',
        links: { taskPage: (id) => client.taskPage(id), jobPage: (id) => client.jobPage(id) },
      });
      const message = built.message!;
      const draft = emptyDraft('command', [message.markdown, ...message.details].join('\n\n'));
      draft.facts = {
        digest: built.tasks.map((t) => ({
          jeditaskid: t.jeditaskid,
          status: t.status,
          failedJobs: t.failedJobs,
          codes: t.groups.map((g) => g.error),
        })),
      };
      draft.links = items
        .slice(0, 10)
        .map((i) => ({ title: `Task ${i.jeditaskid}`, url: client.taskPage(i.jeditaskid) }));
      return draft;
    },
  };

  return [subscribe, unsubscribe, list, digestNow];
}

/** What the next digest of a subscription would cover if it were posted at `at`. */
function windowOf(
  entry: { subscription: Subscription; state?: { dataFrom: string; lastStatus?: string; seenCodes: string[] } },
  at: number,
) {
  const after = Math.min(at, Date.parse(entry.state?.dataFrom ?? entry.subscription.createdAt));
  return {
    jeditaskid: entry.subscription.jeditaskid,
    window: { after, until: at },
    previous: entry.state ? { status: entry.state.lastStatus, seenCodes: entry.state.seenCodes } : undefined,
  };
}
