import { Command } from 'commander';
import { ConfigError, loadConfig, PACKAGE_ROOT } from '../config/load.ts';
import { handbookPaths, openRagParts } from '../rag/docs-index.ts';
import { ingest, IngestError, type IngestProgress, type IngestSummary } from '../rag/ingest.ts';
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
    const label = p.phase === 'files' ? 'files' : 'chunks embedded';
    const current = p.current ? `  ${p.current.length > 50 ? `…${p.current.slice(-49)}` : p.current}` : '';
    stream.write(`\r\x1b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.done}/${p.total} ${label}${current}`);
    if (p.done === p.total && p.phase === 'embeddings') stream.write('\n');
  };
}

export function summaryLine(s: IngestSummary): string {
  const removedFiles = s.removedFiles ? `, ${s.removedFiles} deleted file${s.removedFiles === 1 ? '' : 's'} dropped` : '';
  const embedded = s.embedded ? `, ${s.embedded} embedded` : '';
  return `Ingested ${s.files} file${s.files === 1 ? '' : 's'} (${s.chunks} chunks): ${s.added} added, ${s.updated} updated, ${s.removed} removed, ${s.unchangedFiles} file${s.unchangedFiles === 1 ? '' : 's'} unchanged${removedFiles}${embedded} in ${s.seconds.toFixed(2)} s`;
}

export function ingestCommand(): Command {
  return new Command('ingest')
    .description('Index Markdown, text and HTML documentation for documentation answers (incremental: only changed files are re-read).')
    .argument('[paths...]', 'files or folders; default: the bundled handbook (rag.docs)')
    .option('--json', 'print the summary as one JSON object')
    .addHelpText('after', `\nExamples:\n  askpanda ingest                      re-index the bundled handbook\n  askpanda ingest ../shared/reference  add a folder of .md/.txt/.html files\n\nThe index lives under the data dir (ASKPANDA_DATA_DIR). Deleted files under an ingested folder drop out on the next ingest of that folder.`)
    .action(async (paths: string[], options: { json?: boolean }) => {
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
      const targets = paths.length ? paths : handbookPaths(config);
      const tty = process.stderr.isTTY && !options.json;
      const bar = tty ? progressBar(process.stderr) : undefined;
      let summary: IngestSummary;
      try {
        summary = await ingest(targets, { catalog: parts.catalog, chunking: parts.chunking, displayRoot: PACKAGE_ROOT, embedder: parts.embedder, vectorStore: parts.vectorStore, onProgress: bar });
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
      for (const skipped of summary.skipped) process.stderr.write(`askpanda ingest: skipped ${skipped.file}: ${skipped.reason}\n`);
      process.stdout.write(options.json ? `${JSON.stringify({ ...summary, index: parts.catalog.file, totalChunks: parts.catalog.chunks.size })}\n` : `${summaryLine(summary)}\n`);
    });
}
