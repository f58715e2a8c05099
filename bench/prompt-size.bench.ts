/**
 * `npm run bench -- prompt-size`: tokens of the prompt askpanda sends for the demo job and task
 * fixtures, against the prompt Ask PanDA builds from the same data, counted with one tokenizer
 * (gpt-tokenizer, o200k) in one run.
 *
 * Ask PanDA's approach, rebuilt here: its instruction, the WHOLE monitor JSON of the job
 * (`/job?pandaid=N&json`: job, files, dsfiles) or task (`/task/N/?json`: task, taskparams, datasets),
 * exactly as the monitor served it to askpanda's client (the same demo records the prompt builder
 * sees), five documentation chunks retrieved for the question, and its log window appended. Its
 * chunks are its own: the resources/*.txt it indexes (the askpanda-resources-*.txt reference copies)
 * split like its vector store does (recursive character splitter, 1500 characters, 150 overlap);
 * retrieval is BM25 standing in for its MiniLM similarity search (every chunk is about 1500
 * characters, so which five are picked barely changes the count). Its log window is its own rule
 * (the last 100 lines of payload.stdout for 1305, else the 30 lines of pilotlog.txt up to the first
 * line with its error string). Its JSON is compact (no indentation). askpanda's prompt is everything
 * it sends: the agent's prompt builder plus refineWithModel's answer-format contract.
 *
 * Goal: askpanda ≤ 25% of Ask PanDA's tokens per fixture, keeping the causal log lines (the
 * scanner's best match of each log file read must appear in askpanda's prompt).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildJobPrompt } from '../src/agents/job-prompt.ts';
import { buildTaskPrompt } from '../src/agents/task-prompt.ts';
import { DEFAULT_SECTION_TITLES, withContract } from '../src/agents/refine.ts';
import { loadConfig } from '../src/load-config.ts';
import type { ChatMessage } from '../src/llm/chat-model.ts';
import { countMessageTokens, countTokens } from '../src/llm/tokens.ts';
import { createPandaClient } from '../src/panda/client.ts';
import { startDemoMonitor } from '../src/panda/demo/server.ts';
import { analyzeJob } from '../src/panda/job-analysis.ts';
import { analyzeTask } from '../src/panda/task-analysis.ts';
import { Bm25Index } from '../src/rag/bm25.ts';
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
  "You are an expert on distributed analysis. A PanDA job has job status 'failed'. The job was run on a linux worker node and the pilot has detected a possible error.",
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

/** Ask PanDA's indexed documents (its resources/*.txt); ASK_PANDA_RESOURCES points elsewhere. */
const ASK_PANDA_RESOURCES = process.env.ASK_PANDA_RESOURCES ?? '/work/shared/reference';
const ASK_PANDA_CHUNK = 1500;
const ASK_PANDA_OVERLAP = 150;

/** Joins small pieces into chunks of at most `size` characters, neighbours sharing up to `overlap`. */
function mergeSplits(splits: string[], separator: string, size: number, overlap: number): string[] {
  const out: string[] = [];
  const current: string[] = [];
  let total = 0;
  for (const piece of splits) {
    const extra = current.length ? separator.length : 0;
    if (total + piece.length + extra > size && current.length) {
      out.push(current.join(separator).trim());
      while (total > overlap || (total + piece.length + (current.length ? separator.length : 0) > size && total > 0)) {
        total -= current[0]!.length + (current.length > 1 ? separator.length : 0);
        current.shift();
      }
    }
    current.push(piece);
    total += piece.length + (current.length > 1 ? separator.length : 0);
  }
  if (current.length) out.push(current.join(separator).trim());
  return out.filter(Boolean);
}

/** LangChain's RecursiveCharacterTextSplitter: paragraphs, then lines, then words, then characters. */
function recursiveSplit(
  text: string,
  size = ASK_PANDA_CHUNK,
  overlap = ASK_PANDA_OVERLAP,
  separators = ['\n\n', '\n', ' ', ''],
): string[] {
  const index = separators.findIndex((sep) => sep === '' || text.includes(sep));
  const separator = separators[index]!;
  const rest = separators.slice(index + 1);
  const splits = separator ? text.split(separator) : [...text];
  const out: string[] = [];
  let small: string[] = [];
  for (const piece of splits.filter(Boolean)) {
    if (piece.length < size) {
      small.push(piece);
      continue;
    }
    if (small.length) out.push(...mergeSplits(small, separator, size, overlap));
    small = [];
    out.push(...(rest.length ? recursiveSplit(piece, size, overlap, rest) : [piece]));
  }
  if (small.length) out.push(...mergeSplits(small, separator, size, overlap));
  return out;
}

/** Ask PanDA's retriever over its own documents: top five chunks for the question. */
function askPandaRetriever(): { chunks: number; search(query: string): string[] } {
  const files = existsSync(ASK_PANDA_RESOURCES)
    ? readdirSync(ASK_PANDA_RESOURCES).filter((f) => /^askpanda-resources-.*\.txt$/.test(f))
    : [];
  if (files.length === 0)
    throw new Error(
      `Ask PanDA's documents (askpanda-resources-*.txt) not found in ${ASK_PANDA_RESOURCES}; set ASK_PANDA_RESOURCES`,
    );
  const texts = new Map<string, string>();
  for (const file of files) {
    for (const [i, text] of recursiveSplit(readFileSync(path.join(ASK_PANDA_RESOURCES, file), 'utf8')).entries())
      texts.set(`${file}#${i}`, text);
  }
  const index = new Bm25Index([...texts].map(([id, text]) => ({ id, source: id, title: '', section: '', text })));
  return { chunks: texts.size, search: (query) => index.query(query, 5).map((m) => texts.get(m.id)!) };
}

interface Row {
  fixture: string;
  ours: number;
  /** Tokens of ours spent on quoted log evidence, and on the fixed parts (system prompt + answer contract). */
  evidence: number;
  fixed: number;
  theirs: number;
  /** Of theirs: the monitor JSON, and the five chunks. */
  theirsJson: number;
  theirsChunks: number;
  /** Causal log lines (the scanner's best match per log file) found in ours / in Ask PanDA's. */
  causalKept: string;
  causalKeptTheirs: string;
  /** Ask PanDA's failed-job question as its log_analysis_agent builds it (no JSON; see below). */
  theirsNoJson?: number;
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

/** Ask PanDA's question: instruction, the whole JSON, the diag and the log window. */
function askPandaQuestion(instruction: string, monitorJson: unknown, diag: string, logWindow: string[]): string {
  return [
    instruction,
    `Job or task metadata (JSON):\n${JSON.stringify(monitorJson)}`,
    diag ? `Error diagnostics: '${diag}'.` : '',
    logWindow.length ? `The log extracts are as follows:\n\n'${logWindow.join('\n')}'` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}

/** Its RAG server's prompt (rag_query): the retrieved chunks, then the question. */
function askPandaPrompt(question: string, chunks: string[]): ChatMessage[] {
  return [
    {
      role: 'user',
      content: `Answer based on the following context:\n${chunks.join('\n\n')}\n\nQuestion: ${question}`,
    },
  ];
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

/** Ask PanDA's AI-written pilot error descriptions (its "preliminary diagnosis"), if present. */
function pilotDescriptions(): Record<string, string> {
  const file = path.join(ASK_PANDA_RESOURCES, 'askpanda-pilot-error-descriptions-ai.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-bench-prompt-'));
  const demo = await startDemoMonitor();
  try {
    const config = loadConfig({ env: { ASKPANDA_DATA_DIR: dataDir, ASKPANDA_LOG_LEVEL: 'silent' } });
    const client = createPandaClient(config, { baseUrl: demo.url, logger: silentLogger });
    const askPanda = askPandaRetriever();
    const descriptions = pilotDescriptions();
    const rows: Row[] = [];

    for (const pandaid of JOBS) {
      const question = `Why did job ${pandaid} fail?`;
      const data = await client.job(pandaid);
      const analysis = await analyzeJob(client, config, data, () => undefined);
      const ours = withContract(buildJobPrompt({ question, analysis }), DEFAULT_SECTION_TITLES.job);
      // The scanner's best match of every log file it read.
      const causal = analysis.logs.flatMap((l) =>
        l.status === 'scanned' && l.result.best ? [l.result.best.match.text] : [],
      );
      const keptIn = (messages: ChatMessage[]) =>
        causal.filter((line) => messages.some((m) => m.content.includes(line.trim()))).length;
      // The same URL on the same monitor: exactly the records askpanda's client was served.
      const monitorJson = (await rawJson(`${demo.url}/job?pandaid=${pandaid}&json`)) as {
        job: Record<string, unknown>;
      };
      const logWindow = await askPandaLogWindow(demo.url, monitorJson.job);
      const diag = String(monitorJson.job.piloterrordiag ?? '');
      const asked = askPandaQuestion(ASK_PANDA_JOB_INSTRUCTION, monitorJson, diag, logWindow);
      const chunks = askPanda.search(asked);
      const theirs = askPandaPrompt(asked, chunks);
      // Its log_analysis_agent sends a failed job's question without the JSON: diag, log window and its description of the code.
      const code = Number(monitorJson.job.piloterrorcode ?? 0);
      const failedQuestion = code
        ? [
            ASK_PANDA_JOB_INSTRUCTION,
            `The pilot error code is ${code}.`,
            diag ? `Error diagnostics: '${diag}'.` : '',
            logWindow.length ? `The log extracts are as follows:\n\n'${logWindow.join('\n')}'` : '',
            descriptions[String(code)] ? `A preliminary diagnosis exists: "${descriptions[String(code)]}"` : '',
          ]
            .filter(Boolean)
            .join('\n\n')
        : undefined;
      rows.push({
        fixture: `job ${pandaid}`,
        ours: countMessageTokens(ours),
        ...breakdown(ours),
        theirs: countMessageTokens(theirs),
        theirsJson: countTokens(JSON.stringify(monitorJson)),
        theirsChunks: countTokens(chunks.join('\n\n')),
        causalKept: `${keptIn(ours)}/${causal.length}`,
        causalKeptTheirs: `${keptIn(theirs)}/${causal.length}`,
        theirsNoJson: failedQuestion
          ? countMessageTokens(askPandaPrompt(failedQuestion, askPanda.search(failedQuestion)))
          : undefined,
      });
    }

    for (const jeditaskid of TASKS) {
      const question = `What is happening with task ${jeditaskid}?`;
      const analysis = await analyzeTask(client, jeditaskid);
      const ours = withContract(buildTaskPrompt({ question, analysis }), DEFAULT_SECTION_TITLES.task);
      const monitorJson = await rawJson(`${demo.url}/task/${jeditaskid}/?json`);
      const asked = askPandaQuestion(ASK_PANDA_TASK_INSTRUCTION, monitorJson, '', []);
      const chunks = askPanda.search(asked);
      const theirs = askPandaPrompt(asked, chunks);
      rows.push({
        fixture: `task ${jeditaskid}`,
        ours: countMessageTokens(ours),
        ...breakdown(ours),
        theirs: countMessageTokens(theirs),
        theirsJson: countTokens(JSON.stringify(monitorJson)),
        theirsChunks: countTokens(chunks.join('\n\n')),
        causalKept: 'n/a',
        causalKeptTheirs: 'n/a',
      });
    }

    console.log(
      `Prompt tokens (o200k), askpanda vs Ask PanDA built from the same demo records (its ${askPanda.chunks} chunks of ${ASK_PANDA_CHUNK} characters from ${ASK_PANDA_RESOURCES}):`,
    );
    console.log(
      `${'fixture'.padEnd(18)}${'askpanda'.padStart(9)}${'Ask PanDA'.padStart(11)}${'ratio'.padStart(8)}   askpanda: fixed/evidence   Ask PanDA: JSON/chunks   causal lines kept (askpanda / Ask PanDA)`,
    );
    for (const row of rows) {
      console.log(
        `${row.fixture.padEnd(18)}${String(row.ours).padStart(9)}${String(row.theirs).padStart(11)}${(row.ours / row.theirs).toFixed(3).padStart(8)}   ${`${row.fixed}/${row.evidence}`.padStart(24)}   ${`${row.theirsJson}/${row.theirsChunks}`.padStart(22)}   ${row.causalKept} / ${row.causalKeptTheirs}`,
      );
    }
    const ratios = rows.map((r) => r.ours / r.theirs);
    const sum = (pick: (r: Row) => number) => rows.reduce((s, r) => s + pick(r), 0);
    console.log(
      `total: askpanda ${sum((r) => r.ours)} tokens, Ask PanDA ${sum((r) => r.theirs)} tokens, ratio ${(sum((r) => r.ours) / sum((r) => r.theirs)).toFixed(3)}; median ratio ${median(ratios).toFixed(3)}; worst ${Math.max(...ratios).toFixed(3)} (goal ≤ ${GOAL} per fixture)`,
    );
    const failed = rows.filter((r) => r.theirsNoJson !== undefined);
    if (failed.length) {
      console.log(
        `for reference, Ask PanDA's failed-job question without the job JSON (as its log_analysis_agent sends it): ${failed.map((r) => `${r.fixture} ${r.theirsNoJson} (askpanda ${(r.ours / r.theirsNoJson!).toFixed(3)})`).join(', ')}`,
      );
    }
    const causalLost = rows.some(
      (r) => r.causalKept !== 'n/a' && r.causalKept.split('/')[0] !== r.causalKept.split('/')[1],
    );
    const met = Math.max(...ratios) <= GOAL && !causalLost;
    console.log(
      `goal (≤ ${GOAL * 100}% of Ask PanDA's tokens for every fixture, every causal line kept): ${met ? 'MET' : 'MISSED'}`,
    );
    if (!met) process.exitCode = 1;
  } finally {
    await demo.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
