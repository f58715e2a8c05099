/**
 * Generator of realistic pilot logs (pilot 3 layout:
 * `2025-09-08 05:50:33,123 | INFO     | MainThread      | pilot.control.job              | retrieve         | message`)
 * for the demo monitor, the test fake and the benchmark. Deterministic: the same seed gives the
 * same log, so tests can quote line numbers.
 */

export interface PilotLogLine {
  level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';
  thread: string;
  logger: string;
  fn: string;
  message: string;
}

const NOISE: Array<Omit<PilotLogLine, 'message'> & { message: (r: Rng, n: number) => string }> = [
  {
    level: 'INFO',
    thread: 'job_monitor',
    logger: 'pilot.control.monitor',
    fn: 'control',
    message: (r) => `CPU consumption time for pid=${41000 + r.int(900)}: ${r.int(90000)}.${r.int(99)} s`,
  },
  {
    level: 'INFO',
    thread: 'job_monitor',
    logger: 'pilot.util.monitoring',
    fn: 'job_monitor_tasks',
    message: (r) =>
      `monitor loop #${r.int(5000)}: ${r.int(40)} process(es) running, ${r.int(60)} s since last payload update`,
  },
  {
    level: 'INFO',
    thread: 'job_monitor',
    logger: 'pilot.user.atlas.memory',
    fn: 'get_memory_values',
    message: (r) =>
      `prmon: vmem=${2_000_000 + r.int(3_000_000)} kB pss=${1_500_000 + r.int(2_000_000)} kB ` +
      `rss=${1_600_000 + r.int(2_000_000)} kB swap=0 kB`,
  },
  {
    level: 'INFO',
    thread: 'payload',
    logger: 'pilot.control.payloads.generic',
    fn: 'run_payload',
    message: (r) => `payload stdout size: ${r.int(90_000_000)} B`,
  },
  {
    level: 'DEBUG',
    thread: 'job_monitor',
    logger: 'pilot.util.workernode',
    fn: 'get_disk_space',
    message: (r) => `work directory size: ${r.int(9000)} MB (limit 14336 MB)`,
  },
  {
    level: 'INFO',
    thread: 'MainThread',
    logger: 'pilot.util.heartbeat',
    fn: 'update_pilot_heartbeat',
    message: (r) => `sent heartbeat for job (state=running, cpu=${r.int(20000)} s, rss=${r.int(4_000_000)} kB)`,
  },
  {
    level: 'INFO',
    thread: 'job_monitor',
    logger: 'pilot.control.job',
    fn: 'send_state',
    message: () => 'server responded: StatusCode=0, command=NULL',
  },
  {
    level: 'DEBUG',
    thread: 'queue_monitor',
    logger: 'pilot.control.job',
    fn: 'queue_monitor',
    message: (r) => `queue sizes: jobs=${r.int(2)} finished_jobs=0 failed_jobs=0 data_out=${r.int(3)}`,
  },
  {
    level: 'INFO',
    thread: 'job_monitor',
    logger: 'pilot.monitor.looping',
    fn: 'looping_job',
    message: (r) => `most recent file update: ${r.int(600)} s ago (limit 7200 s)`,
  },
  {
    level: 'WARNING',
    thread: 'job_monitor',
    logger: 'pilot.util.processes',
    fn: 'get_instant_cpu_consumption_time',
    message: (r) => `process ${41000 + r.int(900)} vanished while reading /proc (harmless)`,
  },
  {
    level: 'INFO',
    thread: 'data_out',
    logger: 'pilot.control.data',
    fn: 'queue_monitoring',
    message: (r) => `waiting for ${r.int(4)} output file(s) to be produced`,
  },
  {
    level: 'DEBUG',
    thread: 'MainThread',
    logger: 'pilot.util.https',
    fn: 'request',
    message: (r) => `POST https://pandaserver.cern.ch:25443/server/panda/updateJob took ${r.int(900)} ms (status 200)`,
  },
];

/** Small deterministic PRNG (mulberry32). */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
}

export function formatPilotLine(at: Date, line: PilotLogLine): string {
  const iso = at.toISOString(); // 2025-09-08T05:50:33.123Z
  const stamp = `${iso.slice(0, 10)} ${iso.slice(11, 19)},${iso.slice(20, 23)}`;
  return (
    `${stamp} | ${line.level.padEnd(8)} | ${line.thread.padEnd(15)} | ${line.logger.padEnd(30)} | ` +
    `${line.fn.padEnd(16)} | ${line.message}`
  );
}

/** Parses a line written by formatPilotLine back into its parts (undefined for other lines). */
export function parsePilotLine(text: string): (PilotLogLine & { time: string }) | undefined {
  const m = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) \| (\w+)\s*\| (\S+)\s*\| (\S+)\s*\| (\S+)\s*\| (.*)$/.exec(
    text,
  );
  if (!m) return undefined;
  return { time: m[1]!, level: m[2] as PilotLogLine['level'], thread: m[3]!, logger: m[4]!, fn: m[5]!, message: m[6]! };
}

/**
 * Noise lines, `count` of them, starting at `start` and advancing ~0.4 s per line. Yields strings
 * with a trailing newline; `seed` makes the sequence repeatable.
 */
export function* noiseLines(count: number, start: Date, seed = 1): Generator<string> {
  const rng = new Rng(seed);
  let t = start.getTime();
  for (let n = 0; n < count; n++) {
    t += 100 + rng.int(600);
    const spec = NOISE[rng.int(NOISE.length)]!;
    yield formatPilotLine(new Date(t), { ...spec, message: spec.message(rng, n) }) + '\n';
  }
}

/** The pilot's opening lines: version, queue, job. */
export function pilotPreamble(at: Date, opts: { pandaid: number; site: string; taskid: number }): string[] {
  const t = at.getTime();
  const l = (dt: number, line: PilotLogLine) => formatPilotLine(new Date(t + dt), line);
  return [
    l(0, {
      level: 'INFO',
      thread: 'MainThread',
      logger: 'pilot',
      fn: 'main',
      message: 'pilot version 3.11.5.1 (PanDA Pilot 3) started',
    }),
    l(12, {
      level: 'INFO',
      thread: 'MainThread',
      logger: 'pilot',
      fn: 'main',
      message: `pilot is running on queue ${opts.site}`,
    }),
    l(340, {
      level: 'INFO',
      thread: 'MainThread',
      logger: 'pilot.control.job',
      fn: 'retrieve',
      message: `received job ${opts.pandaid} (jeditaskid=${opts.taskid}) from server`,
    }),
    l(351, {
      level: 'INFO',
      thread: 'MainThread',
      logger: 'pilot.control.job',
      fn: 'retrieve',
      message: 'X509_USER_PROXY=/srv/pilot/x509up_u12345 (proxy lifetime 93:12:05)',
    }),
    l(900, {
      level: 'INFO',
      thread: 'copytool_in',
      logger: 'pilot.control.data',
      fn: '_stage_in',
      message: 'stage-in of 2 file(s) finished in 41 s',
    }),
    l(1200, {
      level: 'INFO',
      thread: 'payload',
      logger: 'pilot.control.payloads.generic',
      fn: 'run_payload',
      message: 'starting payload with command: ./runGen-00-00-02 --nEvents 2000 (setup took 22 s)',
    }),
  ].map((s) => s + '\n');
}
