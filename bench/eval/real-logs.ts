/**
 * The real-log evaluation (bench/eval/real-logs.json): each case's excerpts become the files of a
 * job's log tarball on the loopback fake BigPanDA, the job agent answers "why did job N fail?"
 * offline, and the answer passes when it quotes the expected causal line (facts.cause is that line
 * and the evidence of its file holds it) and names the cause (facts.cause.kind is an expected kind
 * and the answer's text says its name).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { JobAgent } from '../../src/agents/job.ts';
import { AnswerSchema, type Answer } from '../../src/core/answer.ts';
import { toAnswer } from '../../src/bot/render.ts';
import { loadConfig } from '../../src/load-config.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { createPandaClient } from '../../src/panda/client.ts';
import { textLog } from '../../src/panda/demo/data.ts';
import type { MonitorJob } from '../../src/panda/demo/monitor-server.ts';
import { causeName } from '../../src/panda/evidence/cause.ts';
import { failedJob, startFakeBigPanda } from '../../test/fakes/bigpanda.ts';

const CaseSchema = z.object({
  id: z.string(),
  source: z.object({
    repository: z.string(),
    commit: z.string().optional(),
    path: z.string().optional(),
    issue: z.string().optional(),
    line: z.union([z.number(), z.string()]),
    what: z.string(),
    splitKey: z.string(),
  }),
  job: z.record(z.string(), z.union([z.string(), z.number()])),
  codeBasis: z.string(),
  files: z.record(z.string(), z.string()),
  expect: z.object({ causal: z.array(z.string()).min(1), kinds: z.array(z.string()).min(1) }),
  split: z.enum(['tuning', 'held-out']),
});
export type RealLogCase = z.infer<typeof CaseSchema>;

const FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'real-logs.json');

export function loadCases(): RealLogCase[] {
  return z.object({ cases: z.array(CaseSchema).min(1) }).parse(JSON.parse(readFileSync(FILE, 'utf8'))).cases;
}

/** Pandaids of the cases on the fake monitor. */
export const caseId = (index: number) => 6_820_000_000 + index;

export function caseJobs(cases: readonly RealLogCase[]): Array<[number, MonitorJob]> {
  return cases.map((c, i) => [
    caseId(i),
    failedJob(
      caseId(i),
      { ...c.job, computingsite: 'REAL-LOG-EVAL' },
      Object.fromEntries(Object.entries(c.files).map(([name, text]) => [name, textLog(text)])),
    ),
  ]);
}

export interface CaseResult {
  id: string;
  split: RealLogCase['split'];
  quoted: boolean;
  named: boolean;
  pass: boolean;
  requests: number;
  cause?: { kind?: string; source: string; line: number; text: string };
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

export function score(c: RealLogCase, answer: Answer, requests: number): CaseResult {
  const cause = answer.facts.cause as CaseResult['cause'] | undefined;
  const wanted = c.expect.causal.map(squash);
  const isCausal = (line: string) => wanted.some((w) => squash(line).includes(w));
  const quoted = Boolean(
    cause &&
    isCausal(cause.text) &&
    answer.evidence.some((e) => e.source === cause.source && e.lines.some((l) => l === cause.text)),
  );
  const name = causeName(cause?.kind);
  const named = Boolean(cause?.kind && c.expect.kinds.includes(cause.kind) && name && answer.text.includes(name));
  return { id: c.id, split: c.split, quoted, named, pass: quoted && named, requests, cause };
}

/** Runs every case through the job agent against a loopback fake monitor. */
export async function runRealLogEval(cases = loadCases()): Promise<CaseResult[]> {
  const fake = await startFakeBigPanda({ jobs: caseJobs(cases) });
  try {
    const config = loadConfig({ env: { PANDA_MONITOR_URL: fake.url } });
    const results: CaseResult[] = [];
    for (const [i, c] of cases.entries()) {
      const pandaid = caseId(i);
      const client = createPandaClient(config, { backoffMs: 20 });
      const agent = new JobAgent({ client, config });
      const question = `Why did job ${pandaid} fail?`;
      const draft = await agent.handle({
        question,
        incoming: { platform: 'cli', channel: 'eval', thread: c.id, user: 'eval', text: question, isDirect: true },
        history: [],
        route: { agent: 'job', pandaid, reason: 'eval' },
        model: new OfflineModel(),
        progress: () => undefined,
      });
      results.push(score(c, AnswerSchema.parse(toAnswer(draft)), client.stats.requests));
    }
    return results;
  } finally {
    await fake.close();
  }
}

export function fraction(results: readonly CaseResult[], split: RealLogCase['split']): { pass: number; of: number } {
  const part = results.filter((r) => r.split === split);
  return { pass: part.filter((r) => r.pass).length, of: part.length };
}
