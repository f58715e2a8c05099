import { z } from 'zod';
import { AskPandaError } from '../../core/errors.ts';
import { splitNoise } from '../../panda/error-noise.ts';
import { guidanceFor, pilotCode } from '../../panda/knowledge.ts';
import { redactSecrets } from '../../util/redact.ts';
import { jeditaskid } from '../../tools/inputs.ts';
import { isoSeconds, parseInstant } from './instant.ts';
import { defineTool } from './tool.ts';

/** The widest /errors/ window a tool asks for: wider windows are deep, slow monitor queries. */
export const MAX_FAILURE_WINDOW_DAYS = 31;

const instant = (what: string) =>
  z
    .string({ error: `expected ${what} as an ISO-8601 UTC time such as 2025-09-08T06:00:00Z` })
    .max(40, { error: `expected ${what} as an ISO-8601 UTC time such as 2025-09-08T06:00:00Z` })
    .refine((s) => parseInstant(s) !== undefined, {
      error: `expected ${what} as an ISO-8601 time such as 2025-09-08T06:00:00Z or a date such as 2025-09-08 (UTC)`,
    });

/** panda_task_failures: the monitor's /errors/ summary of one task in a UTC window. */
export const taskFailuresTool = defineTool({
  name: 'panda_task_failures',
  title: 'Failures of a PanDA task in a time window',
  description:
    "A JEDI task's failed jobs in a UTC window, grouped by error code (component:code, count, official message, " +
    'what it means) with an example job each, and the sites with the most failed jobs, ' +
    "from the monitor's /errors/ summary. Counts are of error codes, several per job possible. " +
    'Default window: the last 72 hours; at most 31 days.',
  input: {
    jeditaskid,
    since: instant('since')
      .optional()
      .describe('start of the window (UTC), default: `until` minus the monitor.errorsHours setting (72 h)'),
    until: instant('until').optional().describe('end of the window (UTC), default: now'),
  },
  returnsAnswer: false,
  readOnly: true,
  openWorld: true,
  async run({ jeditaskid: id, since: sinceText, until: untilText }, call) {
    const until = untilText ? parseInstant(untilText)! : new Date();
    const since = sinceText
      ? parseInstant(sinceText)!
      : new Date(until.getTime() - call.app.config.monitor.errorsHours * 3_600_000);
    if (since.getTime() >= until.getTime())
      throw new AskPandaError('bad_input', `since (${isoSeconds(since)}) must be before until (${isoSeconds(until)}).`);
    if (until.getTime() - since.getTime() > MAX_FAILURE_WINDOW_DAYS * 86_400_000) {
      throw new AskPandaError(
        'bad_input',
        `The window from since to until is longer than ${MAX_FAILURE_WINDOW_DAYS} days; ` +
          'ask for a shorter one (a wider window is a slow, deep monitor query).',
      );
    }
    call.progress(`is reading the failures of task ${id}…`);
    const client = call.app.panda;
    // The monitor's window is inclusive from one second after `after`.
    const errors = await client.taskErrorsInWindow(id, { after: new Date(since.getTime() - 1000), until });
    const groups = errors.errsByCount
      .map((e) => {
        const [component = '', codeText = ''] = e.error.split(':');
        const code = Number(codeText);
        const guidance = guidanceFor(
          component === 'exe' ? 'executor' : component === 'ddm' ? 'dataservice' : component,
          code,
        );
        return {
          error: e.error,
          component,
          code,
          count: e.count,
          name: component === 'pilot' ? pilotCode(code)?.name : (e.codename ?? undefined),
          diag: redactSecrets(e.diag ?? e.desc ?? '').slice(0, 300),
          meaning: guidance?.problem,
          examplePandaid: e.example_pandaid,
          exampleJobUrl: e.example_pandaid ? client.jobPage(e.example_pandaid) : undefined,
        };
      })
      .sort((a, b) => b.count - a.count);
    const { kept, noise } = splitNoise(groups);
    const sites = errors.errsBySite
      .map((s) => ({ site: s.name, errors: s.toterrors ?? 0, failedJobs: s.toterrjobs ?? 0 }))
      .sort((a, b) => b.failedJobs - a.failedJobs || b.errors - a.errors);
    const failedJobs = sites.reduce((n, s) => n + s.failedJobs, 0);
    const links = [
      { title: `Task ${id}`, url: client.taskPage(id) },
      {
        title: 'Errors of the task',
        url:
          `${client.publicUrl}/errors/?jeditaskid=${id}` +
          `&date_from=${monitorMinute(since)}&date_to=${monitorMinute(until)}`,
      },
    ];
    const window = { since: isoSeconds(since), until: isoSeconds(until) };
    const structured = {
      jeditaskid: id,
      window,
      failedJobs,
      byCode: groups.slice(0, 30),
      companionCodes: noise.map((g) => g.error),
      bySite: sites.slice(0, 20),
      links,
    };
    const between = `between ${window.since} and ${window.until}`;
    const lines: string[] = [];
    lines.push(
      groups.length === 0
        ? `No failed jobs of task ${id} ${between}.`
        : `**Task ${id}**: ${failedJobs.toLocaleString('en-US')} failed job${failedJobs === 1 ? '' : 's'} ${between}.`,
    );
    if (kept.length) {
      lines.push('', '**By error code** (counts are of error codes)');
      for (const g of kept.slice(0, 15)) {
        const name = g.name ? ` ${g.name}` : '';
        const meaning = g.meaning ? ` _${g.meaning}_` : '';
        const example = g.examplePandaid ? ` [example job ${g.examplePandaid}](${g.exampleJobUrl})` : '';
        lines.push(`- **${g.error}**${name} ×${g.count}: ${g.diag || 'no message'}${meaning}${example}`);
      }
      if (noise.length)
        lines.push(
          `_Left out as companions of the codes above: ${noise.map((g) => `${g.error} ×${g.count}`).join(', ')}._`,
        );
    }
    if (sites.length)
      lines.push(
        '',
        `**Sites with the most failed jobs:** ${sites
          .slice(0, 5)
          .map((s) => `${s.site} (${s.failedJobs})`)
          .join(', ')}`,
      );
    lines.push('', `**Monitor:** ${links.map((l) => `[${l.title}](${l.url})`).join(' · ')}`);
    return { text: lines.join('\n'), structured };
  },
});

function monitorMinute(date: Date): string {
  return date.toISOString().slice(0, 16);
}
