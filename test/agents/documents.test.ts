import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentsAgent, NOT_COVERED, retrievalQuery } from '../../src/agents/documents.ts';
import type { AgentContext } from '../../src/agents/agent.ts';
import type { Turn } from '../../src/core/turn.ts';
import { toAnswer } from '../../src/bot/render.ts';
import {
  ModelUnavailableError,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamEvent,
} from '../../src/llm/chat-model.ts';
import { OfflineModel } from '../../src/llm/offline.ts';
import { Catalog } from '../../src/rag/catalog.ts';
import { ingest } from '../../src/rag/ingest.ts';
import { Retriever } from '../../src/rag/retriever.ts';
import { LocalVectorStore } from '../../src/rag/local.ts';
import type { Embedder } from '../../src/rag/embedder.ts';
import { hashingEmbedding } from '../fakes/embeddings.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;
let retriever: Retriever;
let opened = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'askpanda-docs-agent-'));
  const chunking = { chunkChars: 1200, chunkOverlap: 150 };
  const catalog = new Catalog(path.join(dir, 'catalog.json'), chunking);
  await ingest([path.join(root, 'config/bot-handbook')], { catalog, chunking, displayRoot: root });
  retriever = new Retriever(catalog);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function agent(): DocumentsAgent {
  return new DocumentsAgent({
    openIndex: async () => {
      opened++;
      return retriever;
    },
    topK: 5,
  });
}

/** A ChatModel that answers from a script and records what it was asked (our own interface, no SDK). */
class ScriptedModel implements ChatModel {
  readonly offline = false;
  readonly requests: ChatRequest[] = [];
  constructor(
    readonly id: string,
    private readonly reply: string | Error,
  ) {}
  async complete(request: ChatRequest): Promise<ChatResult> {
    this.requests.push(request);
    if (this.reply instanceof Error) throw this.reply;
    return { text: this.reply, usage: { inputTokens: 100, outputTokens: 20 }, model: this.id };
  }
  async *stream(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    this.requests.push(request);
    if (this.reply instanceof Error) throw this.reply;
    const words = this.reply.split(' ');
    for (let i = 0; i < words.length; i++) yield { type: 'delta', text: (i ? ' ' : '') + words[i] };
    yield { type: 'done', result: { text: this.reply, usage: { inputTokens: 100, outputTokens: 20 }, model: this.id } };
  }
}

function context(
  question: string,
  model: ChatModel = new OfflineModel(),
  history: Turn[] = [],
  onPartialText?: (t: string) => void,
): AgentContext {
  return {
    question,
    incoming: { platform: 'cli', channel: 'c', thread: 't', user: 'u', text: question, isDirect: true },
    history,
    route: { agent: 'documents', reason: 'test' },
    model,
    progress: () => undefined,
    ...(onPartialText ? { onPartialText } : {}),
  };
}

describe('DocumentsAgent offline (extractive)', () => {
  it('answers "What is a PanDA pilot?" from the glossary, citing it', async () => {
    const draft = await agent().handle(context('What is a PanDA pilot?'));
    expect(draft.agent).toBe('documents');
    expect(draft.model).toBe('offline');
    expect(draft.summary).toMatch(/^\*\*Pilot\*\* \[1\]\n/);
    expect(draft.summary).toContain('worker node');
    expect(draft.sources[0]).toEqual({ title: 'PanDA glossary › Pilot (config/bot-handbook/glossary.md)' });
    expect(draft.sources.length).toBeLessThanOrEqual(3);
    const text = toAnswer(draft).text;
    expect(text).toContain('**Sources**\n1. PanDA glossary › Pilot (config/bot-handbook/glossary.md)');
    // Every [n] in the text has its source.
    for (const m of text.matchAll(/\[(\d)\]/g)) expect(Number(m[1])).toBeLessThanOrEqual(draft.sources.length);
  });

  it('trims passages to the part that matches the question', async () => {
    const draft = await agent().handle(context('How do I kill my task?'));
    expect(draft.sources[0]!.title).toContain('How do I kill a task?');
    expect(draft.summary).toContain('kill(<jeditaskid>)');
    expect(draft.summary.length).toBeLessThan(700);
  });

  it('says plainly when the docs do not cover the question, with no sources', async () => {
    const draft = await agent().handle(context('What is the boiling point of liquid nitrogen?'));
    expect(draft.summary.startsWith(NOT_COVERED)).toBe(true);
    expect(draft.sources).toEqual([]);
    expect(draft.facts.covered).toBe(false);
  });

  it('asks its provider for the index on each question, not at construction', async () => {
    opened = 0;
    const a = agent();
    expect(opened).toBe(0);
    await a.handle(context('What is Rucio?'));
    expect(opened).toBe(1);
  });
});

describe('DocumentsAgent with a model', () => {
  it('answers from the top chunks only and cites them', async () => {
    const model = new ScriptedModel(
      'openai:gpt-4o-mini',
      'A pilot is started on a worker node and pulls a job from the PanDA server [1].',
    );
    const history: Turn[] = [
      { role: 'user', text: 'Why did job 6802258254 fail?', at: 1 },
      { role: 'assistant', text: 'LONG ASSISTANT ANSWER ABOUT JOB 6802258254', at: 2 },
    ];
    const draft = await agent().handle(context('What is a PanDA pilot?', model, history));
    expect(draft.summary).toBe('A pilot is started on a worker node and pulls a job from the PanDA server [1].');
    expect(draft.model).toBe('openai:gpt-4o-mini');
    expect(draft.sources[0]!.title).toContain('Pilot');
    expect(draft.facts.cited).toEqual([1]);
    const [system, user] = model.requests[0]!.messages;
    expect(system!.content).toMatch(/ONLY the numbered documentation excerpts/);
    expect(system!.content).toContain(NOT_COVERED);
    expect(user!.content).toContain('Question: What is a PanDA pilot?');
    expect(user!.content).toContain('[1] PanDA glossary › Pilot (config/bot-handbook/glossary.md)');
    expect(user!.content).not.toContain('LONG ASSISTANT ANSWER');
    expect((user!.content.match(/^\[\d\] /gm) ?? []).length).toBeLessThanOrEqual(5);
    expect(user!.content.length).toBeLessThan(9000);
  });

  it('streams partial text when the surface wants it', async () => {
    const partials: string[] = [];
    const model = new ScriptedModel('anthropic:claude', 'Use pbook retry on the finished task [1].');
    const draft = await agent().handle(context('How do I retry my failed jobs?', model, [], (t) => partials.push(t)));
    expect(partials.length).toBeGreaterThan(3);
    expect(partials.at(-1)).toBe('Use pbook retry on the finished task [1].');
    expect(draft.summary).toBe('Use pbook retry on the finished task [1].');
  });

  it('falls back to the extractive answer when the model is unavailable', async () => {
    const model = new ScriptedModel(
      'openai:gpt-4o-mini',
      new ModelUnavailableError('all providers failed', 'openai:gpt-4o-mini'),
    );
    const draft = await agent().handle(context('What does exhausted mean for a task?', model));
    expect(draft.model).toBe('offline');
    expect(draft.summary).toMatch(/^_No language model could answer just now.*_\n\n\*\*exhausted\*\* \[1\]/);
    expect(draft.sources[0]!.title).toContain('Task states › exhausted');
  });

  it('keeps secrets out of the prompt', async () => {
    const model = new ScriptedModel('openai:m', 'The docs do not say [1].');
    const draft = await agent().handle(
      context('What is a PanDA pilot? token=abcd1234secret sk-proj-ABCDEFGHIJKLMNOPQRSTUV', model),
    );
    expect(JSON.stringify(draft.facts)).not.toMatch(/abcd1234secret|sk-proj-/);
    expect(model.requests).toHaveLength(1);
    const prompt = model.requests[0]!.messages.map((m) => m.content).join('\n');
    expect(prompt).not.toContain('abcd1234secret');
    expect(prompt).not.toContain('sk-proj-ABCDEFGHIJKLMNOPQRSTUV');
  });
});

describe('DocumentsAgent with embeddings', () => {
  it('accepts a top vector match phrased differently from the question', async () => {
    const catalog = new Catalog(path.join(dir, 'hybrid', 'catalog.json'), { chunkChars: 1200, chunkOverlap: 150 });
    const chunks = [
      {
        id: 'dl',
        source: 'docs/rucio.md',
        title: 'Rucio',
        section: 'Getting data',
        text: 'Use rucio download to fetch files to your laptop.',
      },
      {
        id: 'pilot',
        source: 'docs/pilot.md',
        title: 'Pilot',
        section: 'Pilot',
        text: 'A pilot runs on a worker node and fetches jobs.',
      },
    ];
    for (const c of chunks) catalog.chunks.set(c.id, c);
    const embedder: Embedder = {
      id: 'fake:hash',
      batchSize: 8,
      embed: async (texts) => texts.map((t) => hashingEmbedding(t, 256)),
    };
    const store = await LocalVectorStore.open(path.join(dir, 'hybrid', 'v.json'), embedder.id);
    await store.upsert(
      await Promise.all(
        chunks.map(async (c) => ({ id: c.id, values: (await embedder.embed([c.text], 'document'))[0]!, metadata: c })),
      ),
    );
    const hybrid = new Retriever(catalog, { embedder, vectorStore: store });
    const draft = await new DocumentsAgent({ openIndex: async () => hybrid, topK: 3 }).handle(
      context('which downloader for my files?'),
    );
    expect(draft.facts.retrieval).toBe('hybrid');
    expect(draft.sources[0]!.title).toContain('Getting data');
    // Keyword search alone does not consider the passage to cover "downloader" + "files".
    const keywordOnly = await new DocumentsAgent({ openIndex: async () => new Retriever(catalog), topK: 3 }).handle(
      context('which downloader for my files?'),
    );
    expect(keywordOnly.summary.startsWith(NOT_COVERED)).toBe(true);
  });
});

describe('DocumentsAgent follow-ups', () => {
  it('searches with the previous question and answers the follow-up', async () => {
    const history: Turn[] = [
      { role: 'user', text: 'What is Rucio?', at: 1 },
      { role: 'assistant', text: 'Rucio is the data management system…', at: 2 },
    ];
    // "rucio" + "cric": no passage holds both, yet the CRIC entry answers the follow-up.
    const draft = await agent().handle(context('and CRIC?', new OfflineModel(), history));
    expect(draft.facts.query).toBe('What is Rucio? and CRIC?');
    expect(draft.sources.map((s) => s.title)).toContain('PanDA glossary › CRIC (config/bot-handbook/glossary.md)');
  });
});

describe('retrievalQuery', () => {
  const history: Turn[] = [
    { role: 'user', text: 'How do I retry my task?', at: 1 },
    { role: 'assistant', text: 'Use pbook retry.', at: 2 },
  ];
  it('is the question alone for a self-contained question', () => {
    expect(retrievalQuery('What is a pilot?', history)).toBe('What is a pilot?');
  });
  it('adds the previous user question to a short follow-up, never the assistant text', () => {
    const q = retrievalQuery('and how do I kill it?', history);
    expect(q).toBe('How do I retry my task? and how do I kill it?');
  });
});
