import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ingestCommand } from '../../src/cli/ingest.ts';
import { Catalog } from '../../src/rag/catalog.ts';
import { Retriever } from '../../src/rag/retriever.ts';
import { parseRobots } from '../../src/rag/robots.ts';
import { ingestUrls, type WebIngestOptions } from '../../src/rag/web-ingest.ts';
import { cliEnv, runCli } from '../support/cli.ts';
import { BIG_PAGE_BYTES, startDocsSite, type DocsSite } from '../fakes/docs-site.ts';

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
const chunking = { chunkChars: 1200, chunkOverlap: 150 };
function catalog(): Catalog {
  const dir = mkdtempSync(path.join(tmpdir(), 'askpanda-web-'));
  temps.push(dir);
  return new Catalog(path.join(dir, 'catalog.json'), chunking);
}

const html = (title: string, body: string, links: string[] = []) =>
  `<!doctype html><html><head><title>${title}</title></head><body><nav><a href="/docs/index.html">Home</a> navigation menu</nav><div role="main"><h1>${title}</h1>${body}${links.map((l) => `<p><a href="${l}">${l}</a></p>`).join('')}</div><footer>footer text</footer></body></html>`;
const page = (title: string, body: string, links: string[] = []) => ({ body: html(title, body, links) });

function populate(site: DocsSite): void {
  site.robots = 'User-agent: *\nDisallow: /docs/private/\n';
  site.pages.set(
    '/docs/index.html',
    page('PanDA docs', '<p>Start here.</p>', [
      'a.html',
      'b.html',
      'private/secret.html',
      'missing.html',
      'loop1.html',
      'slow.html',
      'big.html',
      'old.html',
      '/outside.html',
      'http://localhost:1/docs/x.html',
      'logo.png',
      'mailto:help@example.org',
      'a.html#section',
    ]),
  );
  site.pages.set(
    '/docs/a.html',
    page('Retrying jobs', '<h2>Automatic retries</h2><p>JEDI retries failed jobs up to the task maximum.</p>', [
      'c.html',
    ]),
  );
  site.pages.set(
    '/docs/b.html',
    page(
      'Pilot settings',
      '<h2>Heartbeat</h2><p>The pilot settings are:</p><table><tr><th>Parameter</th><th>Default</th><th>Description</th></tr><tr><td>heartbeat</td><td>1800</td><td>Seconds between pilot heartbeats in normal mode.</td></tr><tr><td>debug_heartbeat</td><td>300</td><td>Seconds between heartbeats in debug mode.</td></tr></table>',
    ),
  );
  site.pages.set('/docs/c.html', page('Depth two', '<p>Reached through a.html.</p>', ['d.html']));
  site.pages.set('/docs/d.html', page('Depth three', '<p>Too deep for depth 2.</p>'));
  site.pages.set('/docs/private/secret.html', page('Secret', '<p>Must never be fetched.</p>'));
  site.pages.set('/outside.html', page('Outside', '<p>Outside the start folder.</p>'));
  site.pages.set('/docs/lastmod.html', {
    body: html('Dated page', '<p>Only Last-Modified, no ETag.</p>'),
    noEtag: true,
    modified: new Date('2025-03-01T00:00:00Z'),
  });
  site.redirects.set('/docs/loop1.html', '/docs/loop2.html');
  site.redirects.set('/docs/loop2.html', '/docs/loop1.html');
  site.redirects.set('/docs/old.html', '/docs/lastmod.html');
}

let site: DocsSite;
beforeEach(async () => {
  site = await startDocsSite({ stallMs: 5_000 });
  populate(site);
});
afterEach(() => site.close());

function options(target: Catalog, extra: Partial<WebIngestOptions> = {}): WebIngestOptions {
  return {
    catalog: target,
    chunking,
    maxPages: 50,
    depth: 2,
    delayMs: 40,
    timeoutMs: 700,
    maxPageBytes: 1024 * 1024,
    userAgent: 'askpanda-docs-indexer/1.0',
    ...extra,
  };
}
const fetched = (s: DocsSite) => s.requests.filter((r) => r.path !== '/robots.txt').map((r) => r.path);
const reasonFor = (summary: { skipped: Array<{ file: string; reason: string }> }, suffix: string) =>
  summary.skipped.find((s) => s.file.endsWith(suffix))?.reason;

describe('askpanda ingest https://… (crawler against a loopback site)', () => {
  it('crawls the site under the start folder: robots.txt, depth, 404, redirect loop, slow page, a 50 MB page cut at the cap', async () => {
    const target = catalog();
    const summary = await ingestUrls([`${site.url}/docs/index.html`], options(target));
    const paths = fetched(site);

    // Never fetched: disallowed by robots.txt, outside the start folder, another site, assets, too deep.
    expect(paths).not.toContain('/docs/private/secret.html');
    expect(reasonFor(summary, '/docs/private/secret.html')).toBe('disallowed by robots.txt');
    expect(paths).not.toContain('/outside.html');
    expect(paths).not.toContain('/docs/logo.png');
    expect(paths).not.toContain('/docs/d.html');
    expect(paths).toContain('/docs/c.html');
    // Each page once, fragments dropped.
    expect(paths.filter((p) => p === '/docs/a.html')).toHaveLength(1);

    expect(reasonFor(summary, '/docs/missing.html')).toBe('HTTP 404');
    expect(reasonFor(summary, '/docs/loop1.html')).toMatch(
      /^redirect loop \(\/docs\/loop1\.html → \/docs\/loop2\.html → \/docs\/loop1\.html\)/,
    );
    expect(reasonFor(summary, '/docs/slow.html')).toBe('timed out after 700 ms');
    // The big page: its first MiB indexed, the rest never downloaded.
    expect(summary.truncated).toEqual([{ url: `${site.url}/docs/big.html`, bytes: 1024 * 1024 }]);
    expect(site.bigBytesSent).toBeLessThan(BIG_PAGE_BYTES / 2);
    const chunks = [...target.chunks.values()];
    expect(chunks.some((c) => c.source === `${site.url}/docs/big.html` && c.text.includes('pilot wrappers'))).toBe(
      true,
    );
    // A redirect inside the site is followed.
    expect(paths).toContain('/docs/lastmod.html');

    // One request at a time, with the pause between them, and our user agent.
    const overlapping = site.requests.filter((r) => r.concurrent > 0).map((r) => r.path);
    expect(overlapping, JSON.stringify(site.requests.map((r) => [r.path, r.concurrent]))).toEqual([]);
    // The pause separates page requests; the hops of one redirect chain follow each other at once.
    for (let i = 1; i < site.requests.length; i++) {
      if (site.requests[i - 1]!.status !== 301)
        expect(site.requests[i]!.at - site.requests[i - 1]!.at).toBeGreaterThanOrEqual(40 * 0.75);
    }
    expect(site.requests.every((r) => r.userAgent === 'askpanda-docs-indexer/1.0')).toBe(true);

    // Text without navigation and footer, headings kept, each chunk linked to its page.
    const retry = chunks.find((c) => c.source === `${site.url}/docs/a.html`)!;
    expect(retry).toMatchObject({
      title: 'Retrying jobs',
      section: 'Automatic retries',
      url: `${site.url}/docs/a.html`,
    });
    expect(chunks.some((c) => c.text.includes('navigation menu') || c.text.includes('footer text'))).toBe(false);
    // An HTML table: each row a passage with its columns.
    expect(chunks.map((c) => c.text)).toContain(
      'The pilot settings are:\nParameter: debug_heartbeat\nDefault: 300\nDescription: Seconds between heartbeats in debug mode.',
    );
    const hit = new Retriever(target).searchBm25('What is the default heartbeat in debug mode?', 3)[0]!;
    expect(hit.chunk.text).toContain('debug_heartbeat');
    expect(target.files.size).toBe(summary.files);
    const saved = await Catalog.open(target.file, chunking);
    expect(saved.chunks.size).toBe(target.chunks.size);
  });

  it('stops at --max-pages and says how many linked pages it left', async () => {
    const summary = await ingestUrls([`${site.url}/docs/index.html`], options(catalog(), { maxPages: 3 }));
    expect(fetched(site)).toHaveLength(3);
    expect(reasonFor(summary, '/docs/index.html')).toMatch(
      /^stopped at --max-pages 3; \d+ more linked pages not fetched$/,
    );
  });

  it('on a re-run fetches only what changed (ETag and Last-Modified), and drops pages that are gone', async () => {
    const target = catalog();
    const fast = options(target, { delayMs: 0, depth: 1 });
    await ingestUrls([`${site.url}/docs/index.html`], fast);
    const before = new Map([...target.chunks.values()].map((c) => [c.id, c.source]));
    site.requests.length = 0;
    site.pages.set(
      '/docs/a.html',
      page('Retrying jobs', '<h2>Automatic retries</h2><p>JEDI now retries failed jobs with more memory.</p>', [
        'c.html',
      ]),
    );
    site.pages.delete('/docs/b.html');

    const again = await ingestUrls([`${site.url}/docs/index.html`], fast);
    const byPath = new Map(site.requests.map((r) => [r.path, r]));
    expect(byPath.get('/docs/index.html')).toMatchObject({ status: 304, ifNoneMatch: expect.stringMatching(/^"/) });
    expect(byPath.get('/docs/lastmod.html')).toMatchObject({
      status: 304,
      ifModifiedSince: 'Sat, 01 Mar 2025 00:00:00 GMT',
    });
    expect(byPath.get('/docs/a.html')!.status).toBe(200);
    expect(again.updated + again.added).toBeGreaterThanOrEqual(1);
    expect(again.removedFiles).toBe(1);
    expect([...target.chunks.values()].some((c) => c.source.endsWith('/docs/b.html'))).toBe(false);
    expect([...target.chunks.values()].find((c) => c.source.endsWith('/docs/a.html'))!.text).toContain('more memory');
    // Unchanged pages keep their chunks (same ids) without being re-chunked.
    for (const [id, source] of before)
      if (!source.endsWith('/docs/a.html') && !source.endsWith('/docs/b.html'))
        expect(target.chunks.has(id), source).toBe(true);
    expect(again.unchangedFiles).toBeGreaterThanOrEqual(2);
  });

  it('honours a Crawl-delay longer than its own pause, and an agent-specific group', async () => {
    site.robots = 'User-agent: *\nDisallow: /\n\nUser-agent: askpanda-docs-indexer\nAllow: /docs/\nCrawl-delay: 0.2\n';
    await ingestUrls([`${site.url}/docs/index.html`], options(catalog(), { maxPages: 3, delayMs: 10 }));
    expect(fetched(site)).toHaveLength(3);
    const times = site.requests.map((r) => r.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(200 * 0.75);
  });

  it('does not crawl a site whose robots.txt cannot be read (5xx), and says so', async () => {
    site.robotsStatus = 503;
    const summary = await ingestUrls([`${site.url}/docs/index.html`], options(catalog()));
    expect(fetched(site)).toEqual([]);
    expect(reasonFor(summary, '/robots.txt')).toBe(
      'HTTP 503; the site is not crawled until its robots.txt can be read',
    );
    expect(reasonFor(summary, '/docs/index.html')).toBe('disallowed by robots.txt');
  });
});

describe('robots.txt rules (RFC 9309)', () => {
  it('longest match wins, Allow on a tie, * and $ patterns, the agent group over *', () => {
    const rules = parseRobots(
      'User-agent: *\nDisallow: /\n\nUser-agent: askpanda\nDisallow: /docs/\nAllow: /docs/public/\nDisallow: /*.pdf$\nAllow: /docs/x\nDisallow: /docs/x\n',
      'askpanda-docs-indexer/1.0',
    );
    expect(rules.allows('/docs/page.html')).toBe(false);
    expect(rules.allows('/docs/public/page.html')).toBe(true);
    expect(rules.allows('/docs/public/manual.pdf')).toBe(true);
    expect(rules.allows('/other/manual.pdf')).toBe(false);
    expect(rules.allows('/other/manual.pdf?x=1')).toBe(true);
    expect(rules.allows('/docs/x')).toBe(true);
    expect(rules.allows('/elsewhere')).toBe(true);
    expect(parseRobots('User-agent: *\nDisallow: /private\n', 'askpanda').allows('/private/a')).toBe(false);
    expect(parseRobots('User-agent: *\nDisallow:\n', 'askpanda').allows('/anything')).toBe(true);
  });
});

/** Runs the real `ingest` command in this process (a spawn costs seconds on a loaded machine). */
async function ingestInProcess(args: string[], dataDir: string): Promise<{ stdout: string; stderr: string }> {
  const saved = { dataDir: process.env.ASKPANDA_DATA_DIR, exitCode: process.exitCode };
  process.env.ASKPANDA_DATA_DIR = dataDir;
  process.exitCode = 0;
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => out.push(String(chunk)) > 0);
  const stderr = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => err.push(String(chunk)) > 0);
  try {
    await ingestCommand().exitOverride().parseAsync(args, { from: 'user' });
    return { stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = saved.exitCode;
    if (saved.dataDir === undefined) delete process.env.ASKPANDA_DATA_DIR;
    else process.env.ASKPANDA_DATA_DIR = saved.dataDir;
  }
}

describe('askpanda ingest <URL> then ask (the CLI)', () => {
  it('indexes the site with the flags, prints one summary, and answers from the page with its URL', async () => {
    const env = cliEnv();
    const data = env.ASKPANDA_DATA_DIR!;
    const flags = ['--max-pages', '6', '--depth', '1', '--delay-ms', '0'];
    const { stdout: out, stderr: err } = await ingestInProcess(
      [`${site.url}/docs/index.html`, '--json', ...flags],
      data,
    );
    const summary = JSON.parse(out) as { files: number; chunks: number; skipped: unknown[]; totalChunks: number };
    expect(summary.files).toBeGreaterThanOrEqual(3);
    // Redirect hops are part of one page's request.
    expect(fetched(site).filter((p) => !site.redirects.has(p)).length).toBeLessThanOrEqual(6);
    expect(err).toMatch(/skipped .*missing\.html: HTTP 404/);
    const again = await ingestInProcess([`${site.url}/docs/index.html`, ...flags], data);
    expect(again.stdout).toMatch(
      /^Ingested \d+ pages \(\d+ chunks\): 0 added, 0 updated, 0 removed, \d+ unchanged, \d+ skipped in \d+\.\d\d s\n$/,
    );

    const asked = await runCli(['ask', 'What is the default debug_heartbeat of the pilot?', '--json'], { env });
    const answer = JSON.parse(asked.stdout) as {
      agent: string;
      text: string;
      sources: Array<{ title: string; url?: string }>;
    };
    expect(answer.agent).toBe('documents');
    expect(answer.text).toContain('300');
    expect(answer.sources[0]!.url).toBe(`${site.url}/docs/b.html`);

    const bad = await runCli(['ingest', `${site.url}/docs/`, '--max-pages', 'lots'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-pages takes a whole number from 1 to 100000, not "lots"/);
  });
});
