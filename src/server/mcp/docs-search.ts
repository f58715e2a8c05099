import { z } from 'zod';
import { citationTitle } from '../../rag/chunk.ts';
import { redactSecrets } from '../../util/redact.ts';
import { defineTool } from './tool.ts';

const PASSAGE_CHARS = 1_500;
const limitError = 'expected a whole number from 1 to 10';

/** panda_docs_search: the best passages of the indexed PanDA documentation. */
export const docsSearchTool = defineTool({
  name: 'panda_docs_search',
  title: 'Search the PanDA documentation',
  description:
    "Searches askpanda's indexed PanDA documentation (the handbook and anything ingested) and returns the best passages " +
    'with their titles and sources. Use it to ground answers about PanDA concepts, job and task states, retries, ' +
    'logs and the monitor.',
  input: {
    query: z
      .string({ error: 'expected the search words as text' })
      .trim()
      .min(2, { error: 'expected at least 2 characters of search words' })
      .max(500, { error: 'expected at most 500 characters of search words' })
      .describe('what to look up, in words, e.g. "how are failed jobs retried"'),
    limit: z
      .number({ error: limitError })
      .int({ error: limitError })
      .min(1, { error: limitError })
      .max(10, { error: limitError })
      .optional()
      .describe('passages to return, 1-10, default 5'),
  },
  returnsAnswer: false,
  readOnly: true,
  openWorld: false,
  async run({ query, limit = 5 }, call) {
    call.progress('is searching the documentation…');
    const retriever = await call.app.docs();
    // The query may reach a hosted embedder: secrets are cut out first.
    const cleaned = redactSecrets(query).replaceAll('[redacted]', ' ');
    const hits = await retriever.search(cleaned, limit, { signal: call.signal });
    const passages = hits.map((h, i) => ({
      rank: i + 1,
      title: citationTitle(h.chunk),
      section: h.chunk.section,
      source: h.chunk.source,
      ...(h.chunk.url ? { url: h.chunk.url } : {}),
      coverage: Math.round(h.coverage * 100) / 100,
      text: h.chunk.text.length > PASSAGE_CHARS ? `${h.chunk.text.slice(0, PASSAGE_CHARS)}…` : h.chunk.text,
    }));
    const structured = { query: cleaned, retrieval: retriever.mode, passages };
    if (passages.length === 0)
      return { text: `No passage of the indexed documentation matches "${cleaned}".`, structured };
    const text = passages
      .map((p) => {
        const link = p.url ? ` <${p.url}>` : '';
        const matches = `(matches ${Math.round(p.coverage * 100)} % of the search words)`;
        return `[${p.rank}] **${p.title}**${link} ${matches}\n${p.text}`;
      })
      .join('\n\n');
    return { text, structured };
  },
});
