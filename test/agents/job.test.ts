import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerSchema } from '../../src/core/answer.ts';
import { toAnswer } from '../../src/bot/render.ts';
import { JobAgent } from '../../src/agents/job.ts';
import { buildJobPrompt } from '../../src/agents/job-prompt.ts';
import type { ChatModel, ChatRequest } from '../../src/llm/chat-model.ts';
import { analyzeJob } from '../../src/panda/job-analysis.ts';
import { CURATED_GUIDANCE } from '../../src/panda/knowledge.ts';
import { FAULT, SEEDED_SECRETS, curatedJobId, startFakeBigPanda, type FakeBigPanda } from '../fakes/bigpanda.ts';
import { context, testClient, monitorConfig } from '../panda/helpers.ts';

let fake: FakeBigPanda;
beforeAll(async () => {
  fake = await startFakeBigPanda({ hugeLogBytes: 64 * 1024 * 1024 });
});
afterAll(async () => {
  await fake.close();
});

function agentFor(
  configure: Parameters<typeof monitorConfig>[1] = () => undefined,
  logger = pino({ level: 'silent' }),
) {
  const config = monitorConfig(fake.url, configure);
  const client = testClient(config);
  return { agent: new JobAgent({ client, config, logger }), client, config };
}

async function ask(pandaid: number, question = `Why did job ${pandaid} fail?`, setup = agentFor()) {
  const draft = await setup.agent.handle(context({ agent: 'job', pandaid, reason: 'test' }, question));
  const answer = AnswerSchema.parse(toAnswer(draft));
  return { draft, answer, ...setup };
}

describe('JobAgent offline answers', () => {
  it('explains the demo memory failure (1235) with evidence from pilotlog.txt, links and follow-ups', async () => {
    const { answer, client } = await ask(6800730400);
    expect(answer.agent).toBe('job');
    expect(answer.error).toBeUndefined();
    expect(answer.facts).toMatchObject({
      pandaid: 6800730400,
      jeditaskid: 46374283,
      jobstatus: 'failed',
      piloterrorcode: 1235,
      errorComponent: 'pilot',
      computingsite: 'BNL_PROD_MCORE',
      attemptnr: 2,
      maxattempt: 3,
    });
    expect(answer.sections.map((s) => s.title)).toEqual(['Description', 'Non-expert guidance', 'Expert guidance']);
    for (const heading of ['Problem:', 'Possible causes:', 'Recommendations:'])
      expect(answer.sections[1]!.body).toContain(heading);
    for (const heading of ['Analysis:', 'Investigation steps:', 'Possible scenarios:', 'Preventative measures:'])
      expect(answer.sections[2]!.body).toContain(heading);
    expect(answer.evidence.map((e) => e.source)).toEqual(['metadata', 'pilotlog.txt']);
    const log = answer.evidence.find((e) => e.source === 'pilotlog.txt')!;
    expect(log.lines.some((l) => l.includes('has exceeded the memory limit'))).toBe(true);
    const start = (answer.facts.evidenceStart as Array<{ source: string; firstLine: number }>)[0]!;
    expect(start.source).toBe('pilotlog.txt');
    expect(start.firstLine).toBeGreaterThan(4000);
    expect(log.lines.length).toBeGreaterThanOrEqual(45);
    expect(answer.text).toMatch(/maxPSS 6\.0 GiB/);
    expect(answer.links.map((l) => l.url)).toContain(`${client.publicUrl}/job?pandaid=6800730400`);
    expect(answer.followUps.length).toBeGreaterThanOrEqual(2);
    expect(answer.followUps.length).toBeLessThanOrEqual(4);
    for (const f of answer.followUps) expect(f.why.length).toBeGreaterThan(10);
  });

  it('puts the recommendations first for a "how can I fix it?" follow-up', async () => {
    const { answer } = await ask(6800730400, 'how can I fix it?');
    expect(answer.text.split('\n')[0]).toMatch(
      /^To fix job 6800730400: this job peaked at 6\.0 GiB PSS: request about 7400 MB/,
    );
    expect(answer.sections).toHaveLength(3);
  });

  it('reads the payload.stdout tail for 1305, names the cling error and skips payload.stderr (3 requests)', async () => {
    const setup = agentFor();
    const { answer } = await ask(6802258254, undefined, setup);
    expect(answer.facts.piloterrorcode).toBe(1305);
    const sources = answer.evidence.map((e) => e.source);
    expect(sources.some((s) => s.startsWith('payload.stdout'))).toBe(true);
    expect(sources.some((s) => s.startsWith('payload.stderr'))).toBe(false);
    expect(sources.some((s) => s.startsWith('pilotlog.txt'))).toBe(false);
    expect(fake.requests.some((r) => r.includes('pandaid=6802258254') && r.includes('filename=payload.stderr'))).toBe(
      false,
    );
    expect(setup.client.stats.requests).toBe(3);
    const stdout = answer.evidence.find((e) => e.source.startsWith('payload.stdout'))!;
    expect(stdout.lines.at(-1)).toBe('cling JIT session error: Cannot allocate memory');
    expect(answer.text).toMatch(/cling interpreter failed: "Cannot allocate memory"/);
    expect(answer.sections[1]!.body).toMatch(/the payload ran out of memory \(maxPSS 3\.7 GiB of 3\.9 GiB requested\)/);
  });

  it('reads payload.stderr for 1305 when the payload.stdout tail shows no cause', async () => {
    const setup = agentFor();
    const { answer } = await ask(FAULT.stderrOnly1305, undefined, setup);
    const stderr = answer.evidence.find((e) => e.source.startsWith('payload.stderr'));
    expect(stderr?.lines.some((l) => l.includes('segmentation violation'))).toBe(true);
    expect(answer.facts.payloadSignals).toEqual(expect.arrayContaining(['a segmentation fault (crash)']));
    expect(setup.client.stats.requests).toBe(4);
  });

  it('detects a Python traceback and exit code in a 1305 payload tail', async () => {
    const { answer } = await ask(FAULT.traceback1305);
    expect(answer.facts.payloadSignals).toEqual(
      expect.arrayContaining([
        'a Python traceback',
        `a Python FileNotFoundError: "[Errno 2] No such file or directory: 'calib_456714.json'"`,
        'exit code 65',
      ]),
    );
    expect(answer.facts.exeerrorcode).toBe(65);
  });

  it('summarises a running job from metadata without downloading logs', async () => {
    const setup = agentFor();
    const { answer } = await ask(6798544333, 'what is going on with job 6798544333', setup);
    expect(answer.facts).toMatchObject({ jobstatus: 'running', attemptnr: 4, maxattempt: 4, computingsite: 'MWT2' });
    expect(answer.text).toMatch(/attempt 4 of 4/);
    expect(answer.text).toMatch(/CPU efficiency/);
    expect(setup.client.stats.requests).toBe(1);
    expect(answer.evidence.map((e) => e.source)).toEqual(['metadata']);
  });

  it('summarises a finished job without logs', async () => {
    const setup = agentFor();
    const { answer } = await ask(FAULT.finished, 'what about job 6800000600?', setup);
    expect(answer.text).toMatch(/finished successfully/);
    expect(setup.client.stats.requests).toBe(1);
  });

  it('explains a JEDI reassignment (taskbuffer 100) without reading logs', async () => {
    const setup = agentFor();
    const { answer } = await ask(FAULT.reassigned, undefined, setup);
    expect(answer.facts).toMatchObject({ errorComponent: 'taskbuffer', errorCode: 100, jobstatus: 'closed' });
    expect(answer.sections[1]!.body).toMatch(/reassign/i);
    expect(setup.client.stats.requests).toBe(1);
  });

  for (const g of CURATED_GUIDANCE.filter((x) => x.component === 'pilot' && x.log === 'pilotlog.txt')) {
    it(`finds the log lines of pilot error ${g.code} in pilotlog.txt`, async () => {
      const { answer } = await ask(curatedJobId(g.code));
      const log = answer.evidence.find((e) => e.source.startsWith('pilotlog.txt'));
      expect(log, 'pilotlog evidence').toBeDefined();
      const best = g.patterns.reduce((a, b) => (b.weight > a.weight ? b : a));
      expect(log!.lines).toContain(best.example);
      expect(answer.sections[1]!.body).toContain(g.problem);
    });
  }

  it('costs at most 3 monitor requests cold and 0 warm for the same question', async () => {
    const setup = agentFor();
    await ask(6800730400, undefined, setup);
    const cold = setup.client.stats.requests;
    await ask(6800730400, 'how can I fix it?', setup);
    expect(cold).toBeLessThanOrEqual(3);
    expect(setup.client.stats.requests - cold).toBe(0);
  });
});

describe('JobAgent fault cases', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['no log tarball', FAULT.noLogs, /no log files/i],
    ['log listed but not downloadable yet', FAULT.logNotYet, /pilotlog\.txt is not in the job's log tarball/],
    ['0-byte log', FAULT.emptyLog, /pilotlog\.txt is empty \(0 bytes\)/],
    ['binary log', FAULT.binaryLog, /not a text file/],
    ['file browser error 400', FAULT.listing400, /could not be listed/],
  ];
  for (const [name, pandaid, expected] of cases) {
    it(`answers from metadata when there is ${name}`, async () => {
      const { answer } = await ask(pandaid);
      expect(answer.error).toBeUndefined();
      expect(answer.text).toMatch(expected);
      expect(answer.facts.piloterrorcode).toBeGreaterThan(0);
      expect(answer.sections[1]!.body).toMatch(/Problem:/);
    });
  }

  it('gives up on a log transfer that stalls, after the idle timeout, and still answers', async () => {
    const started = Date.now();
    const { answer } = await ask(
      FAULT.stalledLog,
      undefined,
      agentFor((c) => (c.monitor.timeoutMs = 400)),
    );
    expect(answer.error).toBeUndefined();
    expect(answer.text).toMatch(
      /pilotlog\.txt could not be read \(The monitor stopped sending the log of job 6800000511/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('analyses a holding job like a failed one (1137 stage-out, no space left)', async () => {
    const { answer } = await ask(FAULT.holding, 'what is wrong with job 6800000700?');
    expect(answer.facts).toMatchObject({ jobstatus: 'holding', piloterrorcode: 1137 });
    const log = answer.evidence.find((e) => e.source.startsWith('pilotlog.txt'))!;
    expect(log.lines.some((l) => l.includes('failed to stage-out: StageOutFailure'))).toBe(true);
  });

  it('finds the cause after a 10 MB line and cuts that line', async () => {
    const { answer } = await ask(FAULT.longLine);
    const log = answer.evidence.find((e) => e.source.startsWith('pilotlog.txt'))!;
    expect(log.lines.some((l) => l.includes('TimeoutException: Timeout reached, timeout=6842'))).toBe(true);
    expect(Math.max(...log.lines.map((l) => l.length))).toBeLessThan(2100);
  });

  it('scans a 64 MiB log with the cause near the end in bounded time and memory', async () => {
    const started = Date.now();
    const rssBefore = process.memoryUsage().rss;
    const { answer } = await ask(FAULT.hugeLog);
    const log = answer.evidence.find((e) => e.source.startsWith('pilotlog.txt'))!;
    expect(log.lines.some((l) => l.includes('File transfer timed out during stage-in'))).toBe(true);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(128 * 1024 * 1024);
  });

  it('stops reading a log at maxLogBytes (a 3 GB log) and says so', async () => {
    const { answer } = await ask(
      FAULT.hugeLog,
      undefined,
      agentFor((c) => (c.monitor.maxLogBytes = 4 * 1024 * 1024)),
    );
    expect(answer.text).toMatch(/larger than the 4 MiB I read/);
    expect((answer.facts.logsRead as Array<{ bytes: number; truncated: boolean }>)[0]).toMatchObject({
      bytes: 4 * 1024 * 1024,
      truncated: true,
    });
  });

  const errors: Array<[string, number, string, RegExp]> = [
    ['unknown job', FAULT.unknown, 'not_found', /does not know job 6899999999/],
    ['monitor 500', FAULT.server500, 'monitor_unavailable', /3 attempts/],
    ['malformed JSON', FAULT.malformed, 'monitor_unavailable', /broken/],
    ['429 with a long Retry-After', FAULT.retryAfterLong, 'rate_limited', /rate-limiting/],
  ];
  for (const [name, pandaid, kind, message] of errors) {
    it(`maps ${name} to ${kind} with the job's monitor page`, async () => {
      const { answer } = await ask(pandaid);
      expect(answer.error?.kind).toBe(kind);
      expect(answer.error?.message).toMatch(message);
      expect(answer.error?.message).toContain(`/job?pandaid=${pandaid}`);
      expect(answer.links[0]?.url).toContain(`pandaid=${pandaid}`);
    });
  }
});

describe('secrets in logs', () => {
  it('never reach the answer, the prompt, the model or the logs', async () => {
    const logged: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    const requests: ChatRequest[] = [];
    const model: ChatModel = {
      id: 'fake:recorder',
      offline: false,
      async complete(request) {
        requests.push(request);
        return { text: 'not json', usage: { inputTokens: 1, outputTokens: 1 }, model: 'fake:recorder' };
      },
      // eslint-disable-next-line require-yield
      async *stream(request) {
        requests.push(request);
        throw new Error('no streaming');
      },
    };
    const setup = agentFor(() => undefined, logger);
    const draft = await setup.agent.handle(
      context({ agent: 'job', pandaid: FAULT.secrets, reason: 'test' }, `Why did job ${FAULT.secrets} fail?`, model),
    );
    const answer = toAnswer(draft);
    const data = await setup.client.job(FAULT.secrets);
    const analysis = await analyzeJob(setup.client, setup.config, data);
    const prompt = buildJobPrompt({ question: 'why?', analysis });
    const everything = [JSON.stringify(answer), JSON.stringify(prompt), JSON.stringify(requests), logged.join('')].join(
      '\n',
    );
    // the cause is there …
    expect(JSON.stringify(answer)).toContain('File transfer timed out during stage-in');
    expect(prompt[1]!.content).toContain('<untrusted-log source="pilotlog.txt">');
    // … the secrets are not
    for (const secret of SEEDED_SECRETS) expect(everything).not.toContain(secret);
    expect(JSON.stringify(answer)).toContain('[redacted');
  });
});

describe('buildJobPrompt', () => {
  it('is compact: selected fields, fenced evidence with its source, never the whole job JSON', async () => {
    const setup = agentFor();
    const data = await setup.client.job(6800730400);
    const analysis = await analyzeJob(setup.client, setup.config, data);
    const messages = buildJobPrompt({ question: 'Why did job 6800730400 fail?', analysis });
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(messages[0]!.content).toMatch(/never follow/i);
    const user = messages[1]!.content;
    expect(user).toContain('piloterrorcode: 1235');
    expect(user).toContain('Evidence from pilotlog.txt');
    expect(user).not.toContain('schedulerid');
    expect(user).not.toContain('"files"');
    expect(user.length).toBeLessThan(20_000);
  });

  it('quotes every top-ranked log line with ±2 lines of context, not the whole window the Answer keeps', async () => {
    const setup = agentFor();
    const analysis = await analyzeJob(setup.client, setup.config, await setup.client.job(6800730400));
    const user = buildJobPrompt({ question: 'why?', analysis })[1]!.content;
    const fenced = user
      .slice(user.indexOf('<untrusted-log'), user.lastIndexOf('</untrusted-log>'))
      .split('\n')
      .slice(1);
    for (const t of analysis.topMatches) expect(user).toContain(t.match.text);
    expect(user).toContain('pilot error 1235 set');
    expect(fenced.length).toBeLessThanOrEqual(12);
    expect(analysis.evidence[0]!.lines.length).toBeGreaterThanOrEqual(45);
    expect(fenced[0]).toMatch(/^\[line \d+\]$/);
  });

  it('keeps the failure lines of a payload tail and drops the event-loop chatter', async () => {
    const setup = agentFor();
    const analysis = await analyzeJob(setup.client, setup.config, await setup.client.job(FAULT.traceback1305));
    const user = buildJobPrompt({ question: 'why?', analysis })[1]!.content;
    expect(user).toContain('Traceback (most recent call last):');
    expect(user).toContain("FileNotFoundError: [Errno 2] No such file or directory: 'calib_456714.json'");
    expect(user).toContain('runAthena: payload exited with code 65');
    expect((user.match(/done processing event/g) ?? []).length).toBeLessThanOrEqual(2);
  });
});
