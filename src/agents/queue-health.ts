import { emptyDraft, type AnswerDraft } from '../core/answer.ts';
import { checkMonitor, checkPandaServer, type ServiceCheck } from '../panda/service-health.ts';

export interface HealthTargets {
  pandaServerUrl: string;
  /** Shown to people (the demo asks a loopback server). */
  pandaServerPublicUrl?: string;
  monitorUrl: string;
  monitorPublicUrl?: string;
  timeoutMs: number;
  slowMs: number;
  /** The checks ran against the embedded demo services: the answer says so. */
  demo?: boolean;
}

/** "Is PanDA up?": the PanDA server's and the monitor's liveness, checked now. */
export async function healthAnswer(h: HealthTargets, progress: (status: string) => void): Promise<AnswerDraft> {
  progress('is checking the PanDA server and the monitor…');
  const options = { timeoutMs: h.timeoutMs, slowMs: h.slowMs };
  const [server, monitor] = await Promise.all([
    checkPandaServer(h.pandaServerUrl, { ...options, publicUrl: h.pandaServerPublicUrl }),
    checkMonitor(h.monitorUrl, { ...options, publicUrl: h.monitorPublicUrl }),
  ]);
  const ok = (c: ServiceCheck) => c.state === 'alive' || c.state === 'slow';
  const verdict =
    ok(server) && ok(monitor)
      ? server.state === 'slow' || monitor.state === 'slow'
        ? 'PanDA is up, but slow'
        : 'PanDA is up'
      : !ok(server) && !ok(monitor)
        ? 'PanDA does not look up from here'
        : ok(server)
          ? 'The PanDA server is up, but the monitor is not answering well'
          : 'The PanDA server is not answering well, but the monitor is';
  const summary =
    `${verdict}: the PanDA server ${server.detail}, ` +
    `and the monitor ${monitor.detail}.${h.demo ? ' (Demo: both checks ran against the embedded demo services.)' : ''}`;
  const draft = emptyDraft('queue', summary);
  draft.sections.push({
    title: 'Checks',
    body: bullets(
      [server, monitor].map((c) => `${c.service} (${c.url}): **${c.state.replace('_', ' ')}**, ${c.detail}`),
    ),
  });
  if (!ok(server))
    draft.sections.push({
      title: 'What it means',
      body:
        'While the PanDA server does not answer, new tasks cannot be submitted and pilots cannot fetch jobs; ' +
        'jobs already running continue and report back later. ' +
        'Check the ATLAS computing status pages or the ADC operations channels before opening a ticket.',
    });
  draft.facts = {
    pandaServer: { state: server.state, ms: server.ms, url: server.url },
    monitor: { state: monitor.state, ms: monitor.ms, url: monitor.url },
  };
  draft.links = [
    { title: 'PanDA server liveness', url: server.url },
    { title: 'PanDA monitor', url: monitor.url },
  ];
  draft.followUps = [
    { question: 'Which queues are offline?', why: 'an outage of a site shows as offline queues in CRIC' },
    { question: 'How many queues are online?', why: 'the overall state of the grid resources' },
  ];
  return draft;
}

function bullets(items: readonly string[]): string {
  return items.map((i) => `- ${i}`).join('\n');
}
