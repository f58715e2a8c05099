import { describe, expect, it } from 'vitest';
import { chunkDocument, htmlToMarkdown, type SourceDocument } from '../../src/rag/chunker.ts';

const options = { chunkChars: 300, chunkOverlap: 60 };
const md = (text: string, source = 'docs/test.md'): SourceDocument => ({
  source,
  format: 'markdown',
  text,
  fallbackTitle: 'Fallback title',
});
const sentence = (i: number) => `Sentence number ${i} explains one more detail about PanDA queues and their limits.`;
const prose = (n: number, from = 0) => Array.from({ length: n }, (_, i) => sentence(from + i)).join(' ');

describe('chunkDocument: Markdown structure', () => {
  it('keeps each heading path with its text and never emits a heading alone', () => {
    const chunks = chunkDocument(
      md(
        '# Handbook\n\nIntro text.\n\n## Jobs\n\n### States\n\nA job is pending first.\n\n## Tasks\n\nA task has many jobs.\n',
      ),
      options,
    );
    expect(chunks.map((c) => [c.section, c.text])).toEqual([
      ['Handbook', 'Intro text.'],
      ['Jobs › States', 'A job is pending first.'],
      ['Tasks', 'A task has many jobs.'],
    ]);
    expect(chunks.every((c) => c.title === 'Handbook')).toBe(true);
  });

  it('takes title and url from front matter', () => {
    const [chunk] = chunkDocument(
      md('---\ntitle: "Job states"\nurl: https://example.org/states\n---\n# Ignored heading\n\nText.\n'),
      options,
    );
    expect(chunk!.title).toBe('Job states');
    expect(chunk!.url).toBe('https://example.org/states');
  });

  it('does not treat # lines inside code fences as headings', () => {
    const chunks = chunkDocument(
      md('## Setup\n\n```bash\n# a shell comment\nlsetup panda\n```\n\nAfter the block.\n'),
      options,
    );
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.section).toBe('Setup');
    expect(chunks[0]!.text).toContain('# a shell comment');
  });

  it('splits a long section at paragraph and sentence ends, within the size, with overlap', () => {
    const text = `## Limits\n\n${prose(6)}\n\n${prose(6, 6)}\n\n${prose(6, 12)}\n`;
    const chunks = chunkDocument(md(text), options);
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk.section).toBe('Limits');
      expect(chunk.text.length).toBeLessThanOrEqual(options.chunkChars * 1.3 + options.chunkOverlap * 2);
      expect(chunk.text).toMatch(/^Sentence number \d+/); // starts at a sentence, not mid-word
    }
    // Neighbours share text: the start of each chunk repeats the end of the previous one.
    for (let i = 1; i < chunks.length; i++) {
      const firstSentence = chunks[i]!.text.match(/^Sentence number \d+/)![0];
      expect(chunks[i - 1]!.text).toContain(firstSentence);
    }
    // Nothing is lost.
    for (let i = 0; i < 18; i++) expect(chunks.some((c) => c.text.includes(`Sentence number ${i} `))).toBe(true);
  });

  it('no overlap when chunkOverlap is 0', () => {
    const chunks = chunkDocument(md(`## S\n\n${prose(20)}\n`), { chunkChars: 300, chunkOverlap: 0 });
    const all = chunks.map((c) => c.text).join(' ');
    for (let i = 0; i < 20; i++) expect(all.split(`Sentence number ${i} `).length - 1).toBe(1);
  });

  it('keeps a glossary entry whole even when it is longer than the chunk size', () => {
    const entry = prose(9); // ~730 chars: more than 1.5 x 300, less than 4 x 300
    const chunks = chunkDocument(
      md(`# Glossary\n\n## Pilot\n\n${entry}\n\n## Payload\n\nThe program a job runs.\n`),
      options,
    );
    expect(chunks.map((c) => c.section)).toEqual(['Pilot', 'Payload']);
    expect(chunks[0]!.text).toBe(entry);
    // The same text under an ordinary heading is split.
    expect(chunkDocument(md(`# Notes\n\n## Pilot\n\n${entry}\n`), options).length).toBeGreaterThan(1);
  });

  it('turns **Term**: lines of a glossary list into whole entries', () => {
    const chunks = chunkDocument(
      md('# Glossary\n\n- **RSE**: a storage endpoint known to Rucio.\n- **DID**: a data identifier, scope:name.\n'),
      options,
    );
    expect(chunks.map((c) => c.section)).toEqual(['RSE', 'DID']);
  });

  it('treats concatenated docs-site pages as chapters and closes an unclosed fence at a page boundary', () => {
    const text =
      '---\nid: a\ntitle: First page\n---\n\n## One\n\n```\nunclosed code\n\n---\nid: b\ntitle: Second page\n---\n\n## Two\n\nReal text.\n';
    const chunks = chunkDocument(
      {
        source: 'dump.txt',
        format: 'text',
        text: text + '\n## Three\n\nx\n\n## Four\n\ny\n\n## Five\n\nz\n\n## Six\n\nw\n',
        fallbackTitle: 'Dump',
      },
      options,
    );
    expect(chunks.every((c) => c.title === 'Dump')).toBe(true);
    expect(chunks.find((c) => c.text === 'Real text.')!.section).toBe('Second page › Two');
  });

  it('gives empty and heading-only documents no chunks', () => {
    expect(chunkDocument(md(''), options)).toEqual([]);
    expect(chunkDocument(md('# A\n\n## B\n\n### C\n'), options)).toEqual([]);
  });

  it('normalises CRLF line ends', () => {
    const unix = chunkDocument(md('## A\n\nText one.\n'), options);
    const dos = chunkDocument(md('## A\r\n\r\nText one.\r\n'), options);
    expect(dos).toEqual(unix);
  });

  it('hard-wraps a single huge word-less line', () => {
    const chunks = chunkDocument(md(`## Blob\n\n${'x'.repeat(2000)}\n`), options);
    expect(chunks.length).toBeGreaterThan(4);
    expect(chunks.every((c) => c.text.length <= options.chunkChars + options.chunkOverlap)).toBe(true);
  });
});

describe('chunkDocument: ids', () => {
  it('are stable for the same content and change only for edited sections', () => {
    const before = chunkDocument(md('## A\n\nAlpha text.\n\n## B\n\nBeta text.\n'), options);
    expect(chunkDocument(md('## A\n\nAlpha text.\n\n## B\n\nBeta text.\n'), options).map((c) => c.id)).toEqual(
      before.map((c) => c.id),
    );
    const after = chunkDocument(md('## A\n\nAlpha text.\n\n## B\n\nBeta text, edited.\n'), options);
    expect(after[0]!.id).toBe(before[0]!.id);
    expect(after[1]!.id).not.toBe(before[1]!.id);
  });

  it('differ for identical text in the same section and across files', () => {
    const twice = chunkDocument(md('# Glossary\n\n- **A**: same words\n- **A**: same words\n'), options);
    expect(new Set(twice.map((c) => c.id)).size).toBe(2);
    const elsewhere = chunkDocument(md('## A\n\nAlpha text.\n', 'docs/other.md'), options);
    expect(elsewhere[0]!.id).not.toBe(chunkDocument(md('## A\n\nAlpha text.\n'), options)[0]!.id);
  });
});

describe('chunkDocument: plain text', () => {
  it('keeps separator-delimited DEFINITION and Question entries whole, named by their term', () => {
    const text =
      'Definitions.\n\n----------------\nDEFINITION: Pilot\nA pilot runs on a worker node.\nIt fetches jobs.\n----------------\nDEFINITION: Payload\nThe program a job runs.\n------------\nQuestion:\nHow do I get help?\n\nAnswer:\nAsk DAST.\n';
    const chunks = chunkDocument({ source: 'defs.txt', format: 'text', text, fallbackTitle: 'Defs' }, options);
    const pilot = chunks.find((c) => c.section === 'Pilot')!;
    expect(pilot.text).toBe('A pilot runs on a worker node.\nIt fetches jobs.');
    expect(chunks.find((c) => c.section === 'Payload')!.text).toBe('The program a job runs.');
    expect(chunks.some((c) => c.text.includes('Ask DAST.'))).toBe(true);
  });

  it('drops page furniture of PDF dumps and uses numbered headings and standalone questions as sections', () => {
    const page = (n: number, body: string) => `${body}\n${n}\nPanDAWMS\nChapter 2. Basic Concepts\n`;
    let text = '';
    for (let i = 0; i < 9; i++)
      text += page(
        i + 3,
        i === 2
          ? '2.9 Heartbeat\nThe pilot sends heartbeats to the server.'
          : i === 5
            ? 'What is the meaning of the lost heartbeat error?\nNo heartbeat for six hours kills the job.'
            : `Filler line ${i} of the dump.`,
      );
    const chunks = chunkDocument({ source: 'dump.txt', format: 'text', text, fallbackTitle: 'PanDA docs' }, options);
    const all = chunks.map((c) => c.text).join('\n');
    expect(all).not.toContain('PanDAWMS');
    expect(all).not.toMatch(/^\d+$/m);
    expect(chunks.find((c) => c.text.startsWith('The pilot sends heartbeats'))!.section).toBe('2.9 Heartbeat');
    expect(chunks.find((c) => c.text.startsWith('No heartbeat'))!.section).toBe(
      '2.9 Heartbeat › What is the meaning of the lost heartbeat error?',
    );
  });
});

describe('htmlToMarkdown', () => {
  it('keeps headings, paragraphs, list items and code; drops scripts, styles and navigation; decodes entities', () => {
    const html =
      '<html><head><title>Pilot guide</title><style>p{}</style><script>alert(1)</script></head><body><nav>Home | Docs</nav><h1>Pilot guide</h1><p>The pilot &amp; the payload&#39;s logs.</p><h2>Options</h2><ul><li>--memory</li><li>--nCore</li></ul><pre># not a heading\nlsetup panda</pre></body></html>';
    const out = htmlToMarkdown(html);
    expect(out).toContain('# Pilot guide');
    expect(out).toContain("The pilot & the payload's logs.");
    expect(out).toContain('## Options');
    expect(out).toContain('- --memory');
    expect(out).not.toMatch(/alert|p\{\}|Home \| Docs/);
    const chunks = chunkDocument({ source: 'x.html', format: 'html', text: html, fallbackTitle: 'x' }, options);
    expect(chunks.map((c) => c.section)).toEqual(['Pilot guide', 'Options']);
    expect(chunks[1]!.text).toContain('# not a heading');
  });
});

describe('chunkDocument: tables are chunked by row, each row with its table and columns', () => {
  const configTable = [
    '## Pilot settings',
    '',
    'Section: Pilot',
    '',
    '| Field | Default value | Description |',
    '| ----- | ------------- | ----------- |',
    ...Array.from(
      { length: 12 },
      (_, i) => `| field_${i} | ${i * 10} s | How often check number ${i} runs, in seconds. |`,
    ),
    '| heartbeat | 1800 | The heartbeat period in normal mode (30*60 = 1800 s). |',
    '',
    'Text after the table.',
  ].join('\n');

  it('makes each row of a pipe table a passage naming its caption, columns and cells', () => {
    const chunks = chunkDocument(md(configTable), options);
    const row = chunks.find((c) => c.text.includes('Field: heartbeat'))!;
    expect(row.section).toBe('Pilot settings');
    expect(row.text).toBe(
      'Section: Pilot\nField: heartbeat\nDefault value: 1800\nDescription: The heartbeat period in normal mode (30*60 = 1800 s).',
    );
    expect(chunks.filter((c) => c.text.includes('Default value:'))).toHaveLength(13);
  });

  it('leaves a long table as an outline in the prose, so the section still reads in order', () => {
    const prose = chunkDocument(md(configTable), options).filter((c) => !c.text.includes('Default value:'));
    expect(prose.map((c) => c.text).join('\n')).toMatch(
      /\[Table \(Field \| Default value \| Description\), 13 rows: field_0, field_1, .*heartbeat\]/,
    );
    expect(prose.map((c) => c.text).join('\n')).toContain('Text after the table.');
  });

  it('keeps a small table whole in its prose passage as well', () => {
    const chunks = chunkDocument(
      md(
        '## Signals\n\nThe pilot traps these signals.\n\n| Signal | Error code |\n|---|---|\n| SIGTERM | 1201 |\n| SIGSEGV | 1203 |\n',
      ),
      { chunkChars: 1200, chunkOverlap: 150 },
    );
    expect(chunks[0]!.text).toContain('| SIGTERM | 1201 |');
    expect(chunks.map((c) => c.text)).toContain('The pilot traps these signals.\nSignal: SIGSEGV\nError code: 1203');
  });

  it('reads grid tables with cells that wrap over several lines, and pipe tables without outer pipes', () => {
    const grid = [
      '## Error codes',
      '',
      '+------+-----------------+---------------------+',
      '| Code | Acronym         | Meaning             |',
      '+======+=================+=====================+',
      '| 1104 | USERDIRTOOLARGE | User work directory |',
      '|      |                 | too large           |',
      '+------+-----------------+---------------------+',
      '',
      'Database   | Supported version | Note',
      '-----------| ----------------- | ---------',
      'MySQL      | 8                 | No support for SSH public key authentication',
    ].join('\n');
    const texts = chunkDocument(md(grid), { chunkChars: 1200, chunkOverlap: 150 }).map((c) => c.text);
    expect(texts).toContain('Code: 1104\nAcronym: USERDIRTOOLARGE\nMeaning: User work directory too large');
    expect(texts).toContain(
      'Database: MySQL\nSupported version: 8\nNote: No support for SSH public key authentication',
    );
  });

  it('does not read a table inside a code fence (command output)', () => {
    const chunks = chunkDocument(
      md('## Listing\n\n```\n| SCOPE:NAME | [DID TYPE] |\n|------------|------------|\n| user.jdoe:a | FILE |\n```\n'),
      options,
    );
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text).toContain('| user.jdoe:a | FILE |');
  });
});
