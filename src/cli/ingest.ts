import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, PACKAGE_ROOT } from '../config/load.ts';
import { loadConfig } from '../load-config.ts';
import { handbookPaths, openRagParts } from '../rag/docs-index.ts';
import { ingest, IngestError, type IngestProgress, type IngestSummary } from '../rag/ingest.ts';
import { ingestUrls, isUrl, type WebIngestSummary } from '../rag/web-ingest.ts';
import { createLogger } from '../util/log.ts';
import { EXIT_USAGE } from './context.ts';

/** One redrawn line on a terminal: `[######------] 12/40 files  docs/x.md`. */
export function progressBar(stream: Pick<NodeJS.WriteStream, 'write'>): (p: IngestProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (p.done < p.total && now - last < 80) return;
    last = now;
    const width = 28;
    const filled = p.total ? Math.round((p.done / p.total) * width) : width;
    const label = p.phase === 'files' ? 'files' : p.phase === 'pages' ? 'pages' : 'chunks embedded';
    const current = p.current ? `  ${p.current.length > 50 ? `…${p.current.slice(-49)}` : p.current}` : '';
    stream.write(
      `\r\x1b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.done}/${p.total} ${label}${current}`,
    );
    if (p.done === p.total && p.phase !== 'files') stream.write('\n');
  };
}

export function webSummaryLine(s: WebIngestSummary): string {
  const cut = s.truncated.length ? `, ${s.truncated.length} cut at the size cap` : '';
  const skipped = s.skipped.length ? `, ${s.skipped.length} skipped` : '';
  const embedded = s.embedded ? `, ${s.embedded} embedded` : '';
  const dropped = s.removedFiles ? `, ${s.removedFiles} gone page${s.removedFiles === 1 ? '' : 's'} dropped` : '';
  return (
    `Ingested ${s.files} page${s.files === 1 ? '' : 's'} (${s.chunks} chunks): ` +
    `${s.added} added, ${s.updated} updated, ${s.removed} removed, ` +
    `${s.unchangedFiles} unchanged${dropped}${cut}${skipped}${embedded} in ${s.seconds.toFixed(2)} s`
  );
}

/** A flag's whole number, or a usage error naming the flag. */
function wholeNumber(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} takes a whole number from ${min} to ${max}, not "${value}".`);
    return n;
  };
}

export function summaryLine(s: IngestSummary): string {
  const removedFiles = s.removedFiles
    ? `, ${s.removedFiles} deleted file${s.removedFiles === 1 ? '' : 's'} dropped`
    : '';
  const embedded = s.embedded ? `, ${s.embedded} embedded` : '';
  return (
    `Ingested ${s.files} file${s.files === 1 ? '' : 's'} (${s.chunks} chunks): ` +
    `${s.added} added, ${s.updated} updated, ${s.removed} removed, ` +
    `${s.unchangedFiles} file${s.unchangedFiles === 1 ? '' : 's'} unchanged${removedFiles}${embedded} in ` +
    `${s.seconds.toFixed(2)} s`
  );
}

export function ingestCommand(): Command {
  return new Command('ingest')
    .description(
      'Index Markdown, text and HTML documentation, from files or from the web, ' +
        'for documentation answers (incremental: only what changed is re-read).',
    )
    .argument('[paths...]', 'files, folders or http(s):// URLs; default: the bundled handbook (rag.docs)')
    .option('--json', 'print the summary as one JSON object')
    .option(
      '--max-pages <n>',
      'web: pages requested at most (default rag.web.maxPages, 200)',
      wholeNumber('--max-pages', 1, 100_000),
    )
    .option(
      '--depth <n>',
      'web: links followed from a start page, 0 = only the start pages (default rag.web.depth, 3)',
      wholeNumber('--depth', 0, 50),
    )
    .option(
      '--delay-ms <n>',
      'web: pause between two requests to a site (default rag.web.delayMs, 1000)',
      wholeNumber('--delay-ms', 0, 60_000),
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  askpanda ingest                      re-index the bundled handbook\n' +
        '  askpanda ingest ../shared/reference  add a folder of .md/.txt/.html files\n' +
        '  askpanda ingest https://panda-wms.readthedocs.io/en/latest/ --max-pages 300\n' +
        '                                       crawl a documentation site (same site, under that folder)\n' +
        '\nThe index lives under the data dir (ASKPANDA_DATA_DIR). ' +
        'Deleted files under an ingested folder drop out on the next ingest of that folder.\n' +
        'Web pages: robots.txt is honoured, one request at a time with a pause between them; ' +
        'a re-run asks with ETag/Last-Modified and re-reads only pages that changed; ' +
        'a page that now answers 404 or 410 drops out.',
    )
    .action(
      async (paths: string[], options: { json?: boolean; maxPages?: number; depth?: number; delayMs?: number }) => {
        let config;
        try {
          config = loadConfig();
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          process.stderr.write(`askpanda: ${err.message}\n`);
          process.exitCode = EXIT_USAGE;
          return;
        }
        const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
        const parts = await openRagParts(config, logger);
        for (const notice of parts.notices) process.stderr.write(`askpanda: ${notice}\n`);
        const urls = paths.filter(isUrl);
        const files = paths.filter((p) => !isUrl(p));
        const targets = paths.length ? files : handbookPaths(config);
        const tty = process.stderr.isTTY && !options.json;
        const bar = tty ? progressBar(process.stderr) : undefined;
        const results: Array<{ kind: 'files'; summary: IngestSummary } | { kind: 'web'; summary: WebIngestSummary }> =
          [];
        try {
          if (targets.length) {
            results.push({
              kind: 'files',
              summary: await ingest(targets, {
                catalog: parts.catalog,
                chunking: parts.chunking,
                displayRoot: PACKAGE_ROOT,
                embedder: parts.embedder,
                vectorStore: parts.vectorStore,
                onProgress: bar,
              }),
            });
          }
          if (urls.length) {
            const web = config.rag.web;
            const summary = await ingestUrls(urls, {
              catalog: parts.catalog,
              chunking: parts.chunking,
              embedder: parts.embedder,
              vectorStore: parts.vectorStore,
              onProgress: bar,
              maxPages: options.maxPages ?? web.maxPages,
              depth: options.depth ?? web.depth,
              delayMs: options.delayMs ?? web.delayMs,
              timeoutMs: web.timeoutMs,
              maxPageBytes: web.maxPageBytes,
              userAgent: web.userAgent,
            });
            results.push({ kind: 'web', summary });
          }
        } catch (err) {
          if (tty) process.stderr.write('\n');
          if (err instanceof IngestError) {
            process.stderr.write(`askpanda ingest: ${err.message}\n`);
            process.exitCode = EXIT_USAGE;
            return;
          }
          process.stderr.write(`askpanda ingest failed: ${err instanceof Error ? err.message : String(err)}\n`);
          process.exitCode = 1;
          return;
        }
        if (tty) process.stderr.write('\r\x1b[2K');
        for (const { summary } of results)
          for (const skipped of summary.skipped)
            process.stderr.write(`askpanda ingest: skipped ${skipped.file}: ${skipped.reason}\n`);
        for (const result of results) {
          if (result.kind === 'web')
            for (const cut of result.summary.truncated)
              process.stderr.write(
                `askpanda ingest: ${cut.url} is larger than ${config.rag.web.maxPageBytes} bytes; ` +
                  `its first ${cut.bytes} bytes were indexed\n`,
              );
        }
        if (options.json) {
          const [files, web] = [
            results.find((r) => r.kind === 'files')?.summary,
            results.find((r) => r.kind === 'web')?.summary,
          ];
          // One object: the file summary as before, the web crawl under `web` when URLs were given.
          const summary = {
            ...(files ?? web),
            ...(files && web ? { web } : {}),
            index: parts.catalog.file,
            totalChunks: parts.catalog.chunks.size,
          };
          process.stdout.write(`${JSON.stringify(summary)}\n`);
        } else {
          for (const result of results)
            process.stdout.write(
              `${result.kind === 'web' ? webSummaryLine(result.summary) : summaryLine(result.summary)}\n`,
            );
        }
      },
    );
}
