import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Answer } from '../../src/core/answer.ts';
import { emptyDraft } from '../../src/core/answer.ts';
import { toAnswer } from '../../src/bot/render.ts';
import { codePointLength } from '../../src/bot/split-markdown.ts';
import type { MattermostConnection } from '../../src/adapters/mattermost/connection.ts';
import { plainTextPosts, toMattermostMarkdown, toPlainText } from '../../src/adapters/mattermost/markdown.ts';
import {
  answerButtons,
  renderAnswer,
  renderNotice,
  renderPartial,
  type ButtonOptions,
  type PostAction,
} from '../../src/adapters/mattermost/render.ts';
import {
  actionSecretFromToken,
  signContext,
  verifyActionRequest,
  verifyContext,
} from '../../src/adapters/mattermost/signing.ts';
import { BOT_TOKEN, FakeMattermost, type FakeChannel, type FakeUser } from '../fakes/mattermost.ts';
import { connectTo } from './helpers.ts';

const SECRET = actionSecretFromToken(BOT_TOKEN);

/** A job answer shaped as the bot renders them, with a long log excerpt. */
function jobAnswer(logLines = 30): Answer {
  const draft = emptyDraft(
    'job',
    'Job 6802258254 failed with pilot error 1305: the payload (athena.py) exited with code 65.',
  );
  draft.sections = [
    {
      title: 'What happened',
      body:
        'The transformation **EVNTtoHITS** stopped at event 4127 with a `StatusCode FAILURE`.\n' +
        '- input: EVNT.38421592._000123.pool.root.1\n- site: ANALY_MWT2_UCORE',
    },
    {
      title: 'What to do',
      body:
        '1. Check the job options for the geometry tag.\n2. Resubmit with `--maxEvents 1000` to reproduce.\n' +
        'See @channel announcements for downtimes.',
    },
  ];
  draft.evidence = [
    {
      source: 'payload.stdout',
      lines: Array.from(
        { length: logLines },
        (_, i) =>
          `10:${String(i % 60).padStart(2, '0')}:01 AthenaEventLoopMgr ERROR event ${4000 + i}: ` +
          'Algorithm EVNTtoHITS returned StatusCode FAILURE @all',
      ),
    },
  ];
  draft.links = [{ title: 'job 6802258254', url: 'https://bigpanda.cern.ch/job?pandaid=6802258254' }];
  draft.followUps = [
    {
      question: 'How can I fix the geometry tag of job 6802258254 so the simulation step stops failing?',
      why: 'the cause is in the job options',
    },
    { question: 'What is happening with task 46374283?', why: 'the job belongs to it' },
  ];
  draft.facts = { pandaid: 6802258254 };
  return toAnswer(draft);
}

function buttonOptions(overrides: Partial<ButtonOptions> = {}): ButtonOptions {
  return {
    url: 'http://127.0.0.1:3000/mattermost/actions',
    secret: SECRET,
    channelId: 'channel0000000000000000001',
    threadId: 'thread00000000000000000001',
    feedback: { agent: 'job', model: 'offline', question: 'why did job 6802258254 fail?', pandaid: 6802258254 },
    ...overrides,
  };
}

function fences(text: string): number {
  return text.split('\n').filter((l) => /^\s*(```|~~~)/.test(l)).length;
}

describe('toMattermostMarkdown', () => {
  it('turns section titles into headings and keeps lists, links and code', () => {
    const md = '**What happened**\n- a [link](https://x.org)\n\n```\n**not a title**\n@channel in code\n```';
    expect(toMattermostMarkdown(md)).toBe(
      '#### What happened\n- a [link](https://x.org)\n\n```\n**not a title**\n@channel in code\n```',
    );
  });

  it('defuses channel-wide mentions outside code only', () => {
    const out = toMattermostMarkdown('ask @channel and @all, not `@here`; mail a@here.org; @askpanda stays');
    expect(out).toBe('ask @\u200bchannel and @\u200ball, not `@here`; mail a@here.org; @askpanda stays');
  });

  it('leaves ~~~ blocks alone until their own closing fence', () => {
    const md = '~~~\n```\n@here\n```\n~~~\n@here';
    expect(toMattermostMarkdown(md)).toBe('~~~\n```\n@here\n```\n~~~\n@\u200bhere');
  });
});

describe('renderAnswer', () => {
  it('fits a normal answer in one post with buttons and no repeated follow-up list', () => {
    const answer = jobAnswer();
    const posts = renderAnswer(answer, { maxPostSize: 16383, buttons: buttonOptions() });
    expect(posts).toHaveLength(1);
    const [post] = posts;
    expect(post!.message).toContain('#### What happened');
    expect(post!.message).toContain('[job 6802258254](https://bigpanda.cern.ch/job?pandaid=6802258254)');
    expect(post!.message).not.toContain('You could ask next');
    expect(post!.message).toContain('@\u200bchannel');
    const attachments = post!.props!.attachments!;
    expect(attachments.map((a) => a.actions.map((x) => x.id))).toEqual([
      ['followup0', 'followup1'],
      ['feedbackup', 'feedbackdown'],
    ]);
    for (const action of attachments.flatMap((a) => a.actions)) {
      expect(action.id).toMatch(/^[A-Za-z0-9]+$/);
      expect(codePointLength(action.name)).toBeLessThanOrEqual(60);
      expect(action.integration.url).toBe('http://127.0.0.1:3000/mattermost/actions');
      expect(verifyContext(action.integration.context, SECRET).ok).toBe(true);
    }
    const first = verifyContext(attachments[0]!.actions[0]!.integration.context, SECRET);
    expect(first.ok && first.payload).toEqual({
      action: 'followup',
      question: answer.followUps[0]!.question,
      channel: 'channel0000000000000000001',
      thread: 'thread00000000000000000001',
    });
  });

  it('keeps the follow-up list as text when there are no buttons', () => {
    const [post] = renderAnswer(jobAnswer(), { maxPostSize: 16383 });
    expect(post!.message).toContain('#### You could ask next');
    expect(post!.props).toBeUndefined();
  });

  it('splits a long answer under the limit, code blocks closed in every post, buttons on the last', () => {
    const posts = renderAnswer(jobAnswer(80), {
      maxPostSize: 1500,
      buttons: buttonOptions(),
      preface: '@ana asked: why did job 6802258254 fail?',
      maxPosts: 10,
    });
    expect(posts.length).toBeGreaterThan(3);
    expect(posts[0]!.message.startsWith('@ana asked')).toBe(true);
    for (const post of posts) {
      expect(codePointLength(post.message)).toBeLessThanOrEqual(1500);
      expect(fences(post.message) % 2).toBe(0);
    }
    expect(posts.slice(0, -1).every((p) => p.props === undefined)).toBe(true);
    expect(posts[posts.length - 1]!.props!.attachments).toHaveLength(2);
  });

  it('cuts after maxPosts with a pointer to the monitor page', () => {
    const posts = renderAnswer(jobAnswer(200), { maxPostSize: 1000, maxPosts: 3 });
    expect(posts).toHaveLength(3);
    const last = posts[2]!.message;
    expect(last).toContain('The full details are on [job 6802258254](https://bigpanda.cern.ch/job?pandaid=6802258254)');
    expect(codePointLength(last)).toBeLessThanOrEqual(1000);
    expect(fences(last) % 2).toBe(0);
  });

  it('adds the given props to every post', () => {
    const posts = renderAnswer(jobAnswer(80), {
      maxPostSize: 1500,
      props: { askpanda: { agent: 'job' } },
      maxPosts: 10,
    });
    expect(posts.every((p) => (p.props as { askpanda?: unknown }).askpanda !== undefined)).toBe(true);
  });
});

describe('drafts, notices and the plain fallback', () => {
  it('closes an open code block of a streaming draft and marks it unfinished', () => {
    const draft = renderPartial('Reading the log…\n\n```\nline 1\nline 2', 16383);
    expect(draft).toBe('Reading the log…\n\n```\nline 1\nline 2\n``` …');
    expect(codePointLength(renderPartial('x '.repeat(5000), 300))).toBeLessThanOrEqual(300);
  });

  it('cuts a notice to one post', () => {
    expect(codePointLength(renderNotice('**Busy**\n' + 'word '.repeat(500), 200))).toBeLessThanOrEqual(200);
  });

  it('drops markup for the plain fallback and stays under the limit', () => {
    const plain = toPlainText(
      '#### Title\n**bold** and _it_ and `code` and [job](https://bigpanda.cern.ch/job?pandaid=1)\n```\nraw *line*\n```',
    );
    expect(plain).toBe('Title\nbold and it and code and job (https://bigpanda.cern.ch/job?pandaid=1)\nraw *line*');
    expect(toPlainText('ANALY_MWT2_UCORE stays')).toBe('ANALY_MWT2_UCORE stays');
    const posts = plainTextPosts(jobAnswer(100).text, 700);
    for (const post of posts) {
      expect(codePointLength(post)).toBeLessThanOrEqual(700);
      expect(post).not.toMatch(/```|\*\*/);
    }
  });
});

describe('signed contexts', () => {
  const payload = { action: 'followup' as const, question: 'How can I fix it?', channel: 'c1', thread: 't1' };

  it('accepts its own signature, also after keys were reordered on the way', () => {
    const signed = signContext(payload, SECRET);
    const reordered = Object.fromEntries(Object.entries(signed).reverse());
    expect(verifyContext(JSON.parse(JSON.stringify(reordered)), SECRET)).toMatchObject({ ok: true, payload });
  });

  it('refuses a context signed with another secret', () => {
    expect(verifyContext(signContext(payload, 'someone-else'), SECRET)).toEqual({ ok: false, reason: 'bad signature' });
  });

  it.each([
    ['question', { question: 'Delete all my tasks' }],
    ['channel', { channel: 'c2' }],
    ['thread', { thread: 't2' }],
    ['issue time', { iat: 1 }],
    ['version', { v: 2 }],
    ['an added field', { admin: true }],
  ])('refuses a context whose %s was changed', (_what, change) => {
    const altered = { ...signContext(payload, SECRET), ...change };
    expect(verifyContext(altered, SECRET)).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses missing or malformed signatures and contexts', () => {
    const { sig: _sig, ...unsigned } = signContext(payload, SECRET);
    expect(verifyContext(unsigned, SECRET)).toEqual({ ok: false, reason: 'no signature' });
    expect(verifyContext({ ...unsigned, sig: 'abc' }, SECRET)).toEqual({ ok: false, reason: 'no signature' });
    expect(verifyContext(null, SECRET)).toEqual({ ok: false, reason: 'no context' });
    expect(verifyContext('x', SECRET)).toEqual({ ok: false, reason: 'no context' });
    // Correctly signed but not one of ours.
    const odd = { action: 'delete', v: 1, iat: 1 };
    expect(verifyContext({ ...odd, sig: createSig(odd) }, SECRET)).toEqual({ ok: false, reason: 'malformed context' });
  });

  it('refuses old buttons when a maximum age is set', () => {
    const signed = signContext(payload, SECRET, Date.now() - 3 * 86400_000);
    expect(verifyContext(signed, SECRET).ok).toBe(true);
    expect(verifyContext(signed, SECRET, { maxAgeMs: 86400_000 })).toEqual({ ok: false, reason: 'expired button' });
  });

  it('checks the whole click request: body shape, signature, and the channel it came from', () => {
    const context = signContext(payload, SECRET);
    const click = {
      user_id: 'u1',
      user_name: 'ana',
      post_id: 'p1',
      channel_id: 'c1',
      team_id: 'tm',
      trigger_id: 'x',
      context,
    };
    expect(verifyActionRequest(click, SECRET)).toMatchObject({
      ok: true,
      userId: 'u1',
      userName: 'ana',
      postId: 'p1',
      channelId: 'c1',
      payload,
    });
    expect(verifyActionRequest({ ...click, channel_id: 'c9' }, SECRET)).toEqual({
      ok: false,
      status: 403,
      reason: 'button from another channel',
    });
    expect(verifyActionRequest({ context }, SECRET)).toMatchObject({ ok: false, status: 400 });
    expect(verifyActionRequest({ ...click, context: { ...context, question: 'x' } }, SECRET)).toMatchObject({
      ok: false,
      status: 403,
    });
  });
});

/** The module's HMAC computed independently (a flat object: sorted JSON is its canonical form). */
function createSig(unsigned: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.entries(unsigned).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHmac('sha256', SECRET).update(JSON.stringify(sorted)).digest('hex');
}

describe('against the fake server', () => {
  let fake: FakeMattermost;
  let connection: MattermostConnection;
  let ana: FakeUser;
  let town: FakeChannel;
  let actions: Server;
  let actionsUrl: string;
  const clicks: Array<{ status: number; body: unknown }> = [];

  beforeEach(async () => {
    fake = await FakeMattermost.start({ maxPostSize: 1200 });
    ana = fake.addUser({ username: 'ana' });
    town = fake.addChannel({ name: 'adc-operations', members: [ana] });
    ({ connection } = connectTo(fake));
    await connection.start();
    // The bot's actions route, reduced to the check: 403 for anything not signed by us.
    actions = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk) => (raw += chunk));
      req.on('end', () => {
        const check = verifyActionRequest(JSON.parse(raw), SECRET);
        const reply = check.ok
          ? {
              status: 200,
              body: {
                ephemeral_text:
                  check.payload.action === 'followup'
                    ? `Asking: ${check.payload.question}`
                    : `Thanks for the ${check.payload.rating} vote`,
              },
            }
          : { status: check.status, body: { error: check.reason } };
        clicks.push(reply);
        res.writeHead(reply.status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => actions.listen(0, '127.0.0.1', resolve));
    actionsUrl = `http://127.0.0.1:${(actions.address() as AddressInfo).port}/mattermost/actions`;
  });

  afterEach(async () => {
    clicks.length = 0;
    await connection.stop();
    await new Promise((resolve) => actions.close(resolve));
    await fake.close();
  });

  it('posts every piece of a long answer without a refusal, buttons on the last one', async () => {
    const question = fake.userPosts(ana, town, '@askpanda why did job 6802258254 fail?');
    const posts = renderAnswer(jobAnswer(60), {
      maxPostSize: connection.maxPostSize,
      maxPosts: 20,
      buttons: buttonOptions({ url: actionsUrl, channelId: town.id, threadId: question.id }),
    });
    expect(posts.length).toBeGreaterThan(2);
    for (const body of posts) await connection.rest.createPost({ channelId: town.id, rootId: question.id, ...body });
    expect(fake.callsTo('createPost').map((c) => c.status)).toEqual(posts.map(() => 201));
    expect(fake.botPosts({ rootId: question.id })).toHaveLength(posts.length);
    // The same text unsplit is refused by the server: the limit is real.
    const whole = (await connection.rest
      .createPost({ channelId: town.id, message: posts.map((p) => p.message).join('\n\n') })
      .catch((e: unknown) => e)) as { status: number };
    expect(whole.status).toBe(400);
  });

  it('a click on a follow-up comes back signed and is accepted; forged and altered ones get 403', async () => {
    const question = fake.userPosts(ana, town, '@askpanda why did job 6802258254 fail?');
    const posts = renderAnswer(jobAnswer(2), {
      maxPostSize: connection.maxPostSize,
      buttons: buttonOptions({ url: actionsUrl, channelId: town.id, threadId: question.id }),
    });
    expect(posts).toHaveLength(1);
    const [body] = posts;
    const post = await connection.rest.createPost({
      channelId: town.id,
      rootId: question.id,
      message: body!.message,
      props: body!.props,
    });

    const good = await fake.clickButton({ postId: post.id, actionId: 'followup0', user: ana });
    expect(good.status).toBe(200);
    expect(good.request).toMatchObject({ user_id: ana.id, user_name: 'ana', post_id: post.id, channel_id: town.id });
    expect(fake.ephemeral[0]).toMatchObject({
      userId: ana.id,
      post: { message: expect.stringContaining('Asking: How can I fix the geometry tag') },
    });
    expect((await fake.clickButton({ postId: post.id, actionId: 'feedbackdown', user: ana })).status).toBe(200);

    const context = (body!.props!.attachments![0]!.actions[0] as PostAction).integration.context;
    const request = { user_id: ana.id, post_id: post.id, channel_id: town.id, team_id: fake.team.id, context };
    expect(
      (
        await fake.postAction(actionsUrl, {
          ...request,
          context: signContext(
            { action: 'followup', question: 'rm -rf', channel: town.id, thread: question.id },
            'guessed-secret',
          ),
        })
      ).status,
    ).toBe(403);
    expect(
      (await fake.postAction(actionsUrl, { ...request, context: { ...context, question: 'Show me every user proxy' } }))
        .status,
    ).toBe(403);
    expect(
      (await fake.postAction(actionsUrl, { ...request, channel_id: fake.addChannel({ name: 'other' }).id })).status,
    ).toBe(403);
    expect(clicks.map((c) => c.status)).toEqual([200, 200, 403, 403, 403]);
  });

  it('shows why action ids must be letters and digits: the server cannot route anything else', async () => {
    const [attachment] = answerButtons(
      [{ question: 'q', why: 'w' }],
      buttonOptions({ url: actionsUrl, channelId: town.id, threadId: 'x' }),
    );
    attachment!.actions[0]!.id = 'follow_up_0';
    const post = await connection.rest.createPost({
      channelId: town.id,
      message: 'buttons',
      props: { attachments: [attachment] },
    });
    expect((await fake.clickButton({ postId: post.id, actionId: 'follow_up_0', user: ana })).status).toBe(404);
    expect(clicks).toHaveLength(0);
  });
});
