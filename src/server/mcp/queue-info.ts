import { z } from 'zod';
import { AskPandaError } from '../../core/errors.ts';
import { limitLines, queueLimits, STATUS_MEANING } from '../../panda/queues.ts';
import { defineTool } from './tool.ts';

/** panda_queue_info: a queue's status and limits from CRIC, or a site's queues. */
export const queueInfoTool = defineTool({
  name: 'panda_queue_info',
  title: 'PanDA queue or site from CRIC',
  description:
    "A PanDA queue's status (online, brokeroff, test, offline) and limits from CRIC: memory per slot and per core, " +
    'walltime, core counts it takes, input size, work directory, copytools, resource type, last change, ' +
    "with its CRIC and BigPanDA pages. A site name lists that site's queues. Unknown names get the closest known names.",
  input: {
    queue: z
      .string({ error: 'expected a PanDA queue or site name such as AGLT2' })
      .trim()
      .regex(/^[\w.+-]{1,80}$/, {
        error: 'expected a PanDA queue or site name such as AGLT2 (letters, digits, _ . + -)',
      })
      .describe('PanDA queue name (e.g. BNL_PROD_MCORE) or ATLAS site name (e.g. AGLT2)'),
  },
  returnsAnswer: false,
  readOnly: true,
  openWorld: true,
  async run({ queue: name }, call) {
    const { cric, panda } = call.app;
    call.progress('is looking up queues in CRIC…');
    const data = await cric.queues();
    const note = data.stale ? cric.describe(data) : undefined;
    const cricMeta = { source: cric.source, ageSeconds: Math.round(data.ageMs / 1000), stale: data.stale };
    const queue = data.index.queue(name);
    if (queue) {
      const links = [
        { title: `CRIC: ${queue.name}`, url: cric.queuePage(queue.name) },
        { title: `BigPanDA: ${queue.name}`, url: `${panda.publicUrl}/site/${encodeURIComponent(queue.name)}/` },
      ];
      const cloud = queue.cloud ? `, cloud ${queue.cloud}` : '';
      const text = [
        `**Queue ${queue.name}**${queue.atlas_site ? ` (site ${queue.atlas_site}${cloud})` : ''}`,
        ...limitLines(queue).map((l) => `- ${l}`),
        ...(note ? ['', `_${note}_`] : []),
        '',
        `**Links:** ${links.map((l) => `[${l.title}](${l.url})`).join(' · ')}`,
      ].join('\n');
      return {
        text,
        structured: {
          kind: 'queue',
          ...queueLimits(queue),
          statusMeaning: queue.status ? STATUS_MEANING[queue.status] : undefined,
          links,
          cric: cricMeta,
        },
      };
    }
    const site = data.index.site(name);
    if (site) {
      const queues = site.queues.map((q) => ({
        queue: q.name,
        status: q.status,
        type: q.type,
        cores: q.corecount,
        memoryMb: q.maxrss,
        walltimeSeconds: q.maxtime,
      }));
      const text = [
        `**Site ${site.name}**: ${queues.length} queue${queues.length === 1 ? '' : 's'} in CRIC`,
        ...queues.map((q) => {
          const type = q.type ? `, ${q.type}` : '';
          const cores = q.cores ? `, ${q.cores} cores` : '';
          const memory = q.memoryMb ? `, ${q.memoryMb.toLocaleString('en-US')} MB` : '';
          return `- ${q.queue}: **${q.status ?? 'unknown'}**${type}${cores}${memory}`;
        }),
        ...(note ? ['', `_${note}_`] : []),
        '',
        'Ask panda_queue_info with one of these queue names for its limits.',
      ].join('\n');
      return { text, structured: { kind: 'site', site: site.name, queues, cric: cricMeta } };
    }
    const closest = data.index.closestNames(name);
    throw new AskPandaError(
      'not_found',
      `CRIC has no queue or site called ${name}.${closest.length ? ` Closest names: ${closest.join(', ')}.` : ''}`,
    );
  },
});
