/**
 * `npm run bench -- prompt-size`: tokens of the prompt askpanda sends for the demo job and task
 * fixtures, against the prompt Ask PanDA builds from the same data, counted with one tokenizer
 * (gpt-tokenizer, o200k) in one run.
 *
 * Ask PanDA's approach, rebuilt here: its instruction, the WHOLE monitor JSON of the job
 * (`/job?pandaid=N&json`: job, files, dsfiles) or task (`/task/N/?json`: task, taskparams, datasets),
 * the five documentation chunks retrieved for the question, and the log window appended. To be fair
 * to the baseline, its log window is exactly the evidence askpanda quotes (the same lines), its JSON
 * is compact (no indentation) and its chunks come from askpanda's own index. askpanda's prompt is
 * everything it sends: the agent's prompt builder plus refineWithModel's answer-format contract.
 *
 * Goal: askpanda ≤ 25% of Ask PanDA's tokens while keeping the causal log lines (the scanner's
 * best match of each log file must appear in askpanda's prompt).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildJobPrompt } from '../src/agents/job-prompt.ts';
import { buildTaskPrompt } from '../src/agents/task-prompt.ts';
import { DEFAULT_SECTION_TITLES, withContract } from '../src/agents/refine.ts';
import { loadConfig } from '../src/config/load.ts';
import type { ChatMessage } from '../src/llm/chat-model.ts';
import { countMessageTokens, countTokens } from '../src/llm/tokens.ts';
import { createPandaClient } from '../src/panda/client.ts';
import { startDemoMonitor } from '../src/panda/demo/server.ts';
import { analyzeJob } from '../src/panda/job-analysis.ts';
import { analyzeTask } from '../src/panda/task-analysis.ts';
import { openDocsIndex } from '../src/rag/docs-index.ts';
import { silentLogger } from '../src/util/log.ts';

const JOBS = [6798544333, 6800730400, 6802258254];
const TASKS = [46374283];
const GOAL = 0.25;

/**
 * Ask PanDA's log-analysis instruction, in our words at about its length: the role, the job status,
 * and the answer format (a dictionary keyed by the error code with description, non-expert and
 * expert guidance and their sub-fields).
 */
const ASK_PANDA_JOB_INSTRUCTION = [
  'You are an expert on distributed analysis. A PanDA job has job status \'failed\'. The job was run on a linux worker node and the pilot has detected a possible error.',
  'Return a dictionary, not wrapped in Markdown, with field names and values using HTML tags for bold. The dictionary has the error code as its key (an integer) and its value has these fields:',
  '"description": a short summary of the error in plain English.',
  '"non_expert_guidance": a dictionary with "problem" (a plain-language explanation of the issue), "possible_causes" (a list of plausible reasons for this error) and "recommendations" (a list of actionable steps a scientist or user should take).',
  '"expert_guidance": a dictionary with "analysis" (a technical explanation of the root cause), "investigation_steps" (a list of diagnostic actions a system admin or expert should take), "possible_scenarios" (a dictionary of known edge cases or failure patterns, each with a short explanation) and "preventative_measures" (a list of best practices to prevent this issue in the future).',
  'Return only a valid dictionary. Here is the error description:',
].join('\n');

const ASK_PANDA_TASK_INSTRUCTION = [
  'You are an expert on PanDA and JEDI. Below is the complete metadata of a JEDI task as JSON and relevant documentation.',
  'Summarise the state of the task for its owner: its status and progress, the datasets, what is failing and why, and what the owner should do next. Answer in markdown.',
].join('\n');

/** Ask PanDA's search strings for pilot error codes (else the first 50 characters of piloterrordiag), cut to 40. */
const ASK_PANDA_ERROR_STRINGS: Record<number, string> = {
  1099: 'Failed to stage-in file',
  1104: String.raw`work directory \(.*?\) is too large`,
  1150: 'pilot has decided to kill looping job',
  1201: 'caught signal: SIGTERM',
  1235: 'job has exceeded the memory limit',
  1324: 'Service not available at the moment',
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Ask PanDA's log window: for a payload failure (1305) the last 100 lines of payload.stdout; else
 * the 30 lines of pilotlog.txt up to and including the first line matching the error string.
 */
async function askPandaLogWindow(monitorUrl: string, job: Record<string, unknown>): Promise<string[]> {
  const pilotCode = Number(job.piloterrorcode ?? 0);
  const file = pilotCode === 1305 ? 'payload.stdout' : 'pilotlog.txt';
  const response = await fetch(`${monitorUrl}/filebrowser/?pandaid=${String(job.pandaid)}&json&filename=${file}`);
  if (!response.ok) return [];
  const lines = (await response.text()).split('\n');
  if (file === 'payload.stdout') return lines.slice(-100);
  const known = ASK_PANDA_ERROR_STRINGS[pilotCode];
  const errorString = (known ?? String(job.piloterrordiag ?? '').slice(0, 50)).slice(0, 40);
  if (!errorString) return [];
  let pattern: RegExp;
  try {
    pattern = new RegExp(known ? errorString : escapeRegExp(errorString));
  } catch {
    pattern = new RegExp(escapeRegExp(errorString));
  }
  const index = lines.findIndex((line) => pattern.test(line));
  return index < 0 ? [] : lines.slice(Math.max(0, index - 29), index + 1);
}

interface Row {
  fixture: string;
  ours: number;
  /** Tokens of ours spent on quoted log evidence, and on the fixed parts (system prompt + answer contract). */
  evidence: number;
  fixed: number;
  theirs: number;
  /** Causal log lines (the scanner's best match per log file) found in ours / in Ask PanDA's. */
  causalKept: string;
  causalKeptTheirs: string;
  /** What-if: ours with each evidence block cut to the scanner's matches ±2 lines. */
  focused: number;
}

/** The analysis with evidence limited to lines within ±2 of a scanner match (a what-if for the prompt builder). */
function focusEvidence(analysis: Awaited<ReturnType<typeof analyzeJob>>): Awaited<ReturnType<typeof analyzeJob>> {
  const matched = new Set(analysis.topMatches.map((t) => t.match.text.trim()));
  const evidence = analysis.evidence.map((e) => {
    const hits = e.lines.map((line, i) => (matched.has(line.trim()) ? i : -1)).filter((i) => i >= 0);
    if (hits.length === 0) return { ...e, lines: e.lines.slice(-5) };
    return { ...e, lines: e.lines.filter((_line, i) => hits.some((h) => Math.abs(h - i) <= 2)) };
  });
  return { ...analysis, evidence };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function rawJson(url: string): Promise<unknown> {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/** Ask PanDA's RAG prompt: retrieved context first, then the question it built (instruction, JSON, log window). */
function askPandaPrompt(instruction: string, monitorJson: unknown, chunks: string[], diag: string, logWindow: string[]): ChatMessage[] {
  const question = [
    instruction,
    `Job or task metadata (JSON):\n${JSON.stringify(monitorJson)}`,
    diag ? `Error diagnostics: '${diag}'.` : '',
    logWindow.length ? `The log extracts are as follows:\n\n'${logWindow.join('\n')}'` : '',
  ].filter(Boolean).join('\n\n');
  return [{ role: 'user', content: `Context:\n${chunks.join('\n\n')}\n\nQuestion: ${question}` }];
}

/** Where askpanda's tokens go: the system messages, and the fenced log evidence blocks. */
function breakdown(messages: ChatMessage[]): { fixed: number; evidence: number } {
  const fixed = messages.filter((m) => m.role === 'system').reduce((s, m) => s + countTokens(m.content), 0);
  const evidence = messages
    .filter((m) => m.role === 'user')
    .flatMap((m) => m.content.split('\n\n'))
    .filter((part) => part.startsWith('Evidence from'))
    .reduce((s, part) => s + countTokens(part), 0);
  return { fixed, evidence };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-bench-prompt-'));
  const demo = await startDemoMonitor();
  try {
    const config = loadConfig({ env: { ASKPANDA_DATA_DIR: dataDir, ASKPANDA_LOG_LEVEL: 'silent' } });
    const client = createPandaClient(config, { baseUrl: demo.url, logger: silentLogger });
    const { retriever } = await openDocsIndex(config, { logger: silentLogger });
    const chunksFor = (query: string) => retriever.searchBm25(query, 5).map((hit) => hit.chunk.text);
    const rows: Row[] = [];

    for (const pandaid of JOBS) {
      const question = `Why did job ${pandaid} fail?`;
      const data = await client.job(pandaid);
      const analysis = await analyzeJob(client, config, data, () => undefined);
      const ours = withContract(buildJobPrompt({ question, analysis }), DEFAULT_SECTION_TITLES.job);
      const causal = [...new Map(analysis.topMatches.map((t) => [t.source, t.match.text])).values()];
      const keptIn = (messages: ChatMessage[]) => causal.filter((line) => messages.some((m) => m.content.includes(line.trim()))).length;
      const monitorJson = (await rawJson(`${demo.url}/job?pandaid=${pandaid}&json`)) as { job: Record<string, unknown> };
      const logWindow = await askPandaLogWindow(demo.url, monitorJson.job);
      const diag = String(monitorJson.job.piloterrordiag ?? '');
      const theirs = askPandaPrompt(ASK_PANDA_JOB_INSTRUCTION, monitorJson, chunksFor(`${question} ${diag}`), diag, logWindow);
      const focused = withContract(buildJobPrompt({ question, analysis: focusEvidence(analysis) }), DEFAULT_SECTION_TITLES.job);
      if (keptIn(focused) !== causal.length) throw new Error(`the focused what-if lost causal lines of job ${pandaid}`);
      rows.push({ fixture: `job ${pandaid}`, ours: countMessageTokens(ours), ...breakdown(ours), theirs: countMessageTokens(theirs), causalKept: `${keptIn(ours)}/${causal.length}`, causalKeptTheirs: `${keptIn(theirs)}/${causal.length}`, focused: countMessageTokens(focused) });
    }

    for (const jeditaskid of TASKS) {
      const question = `What is happening with task ${jeditaskid}?`;
      const analysis = await analyzeTask(client, jeditaskid);
      const ours = withContract(buildTaskPrompt({ question, analysis }), DEFAULT_SECTION_TITLES.task);
      const theirs = askPandaPrompt(ASK_PANDA_TASK_INSTRUCTION, await rawJson(`${demo.url}/task/${jeditaskid}/?json`), chunksFor(question), '', []);
      rows.push({ fixture: `task ${jeditaskid}`, ours: countMessageTokens(ours), ...breakdown(ours), theirs: countMessageTokens(theirs), causalKept: 'n/a', causalKeptTheirs: 'n/a', focused: countMessageTokens(ours) });
    }

    console.log('Prompt tokens (o200k), askpanda vs Ask PanDA built from the same demo data:');
    console.log(`${'fixture'.padEnd(18)}${'askpanda'.padStart(10)}${'Ask PanDA'.padStart(11)}${'ratio'.padStart(8)}${'(fixed'.padStart(8)}${'evidence)'.padStart(10)}  causal lines kept (askpanda / Ask PanDA)`);
    for (const row of rows) {
      console.log(`${row.fixture.padEnd(18)}${String(row.ours).padStart(10)}${String(row.theirs).padStart(11)}${(row.ours / row.theirs).toFixed(3).padStart(8)}${String(row.fixed).padStart(8)}${String(row.evidence).padStart(10)}  ${row.causalKept} / ${row.causalKeptTheirs}`);
    }
    const ratios = rows.map((r) => r.ours / r.theirs);
    const sum = (pick: (r: Row) => number) => rows.reduce((s, r) => s + pick(r), 0);
    console.log(`total: askpanda ${sum((r) => r.ours)} tokens, Ask PanDA ${sum((r) => r.theirs)} tokens, ratio ${(sum((r) => r.ours) / sum((r) => r.theirs)).toFixed(3)}; median ratio ${median(ratios).toFixed(3)}; worst ${Math.max(...ratios).toFixed(3)} (goal ≤ ${GOAL})`);
    console.log(`askpanda's fixed part (system prompt + answer contract) is ${sum((r) => r.fixed)} tokens, its quoted log evidence ${sum((r) => r.evidence)} tokens of the total.`);
    console.log(`what-if, job evidence cut to the scanner's matches ±2 lines (causal lines kept): ${rows.map((r) => `${r.fixture} ${r.focused} (${(r.focused / r.theirs).toFixed(3)})`).join(', ')}; total ratio ${(sum((r) => r.focused) / sum((r) => r.theirs)).toFixed(3)}`);
    const causalLost = rows.some((r) => r.causalKept !== 'n/a' && r.causalKept.split('/')[0] !== r.causalKept.split('/')[1]);
    if (Math.max(...ratios) > GOAL || causalLost) {
      console.log('GOAL MISSED');
      process.exitCode = 1;
    }
  } finally {
    await demo.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
