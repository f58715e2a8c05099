import { z } from 'zod';

/**
 * zod schemas of the BigPanDA JSON the agents rely on. Objects are loose (the monitor adds fields
 * over time); only the fields we read are typed. Numbers may arrive as strings or null in older
 * monitor versions, so they are normalised here once.
 */

const numeric = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\s*-?\d+(?:\.\d+)?\s*$/)
      .transform(Number),
    z.null(),
  ])
  .optional()
  .transform((v) => (v === null ? undefined : v));
const text = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined ? undefined : String(v)));

export const JobSchema = z.looseObject({
  pandaid: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]),
  jeditaskid: numeric,
  jobstatus: z.string(),
  jobsubstatus: text,
  jobname: text,
  computingsite: text,
  computingelement: text,
  cloud: text,
  prodsourcelabel: text,
  processingtype: text,
  transformation: text,
  atlasrelease: text,
  cmtconfig: text,
  produsername: text,
  creationtime: text,
  starttime: text,
  endtime: text,
  modificationtime: text,
  statechangetime: text,
  duration: text,
  durationsec: numeric,
  attemptnr: numeric,
  maxattempt: numeric,
  corecount: numeric,
  actualcorecount: numeric,
  cpuconsumptiontime: numeric,
  cpuefficiency: numeric,
  minramcount: numeric,
  minramunit: text,
  maxpss: numeric,
  maxrss: numeric,
  maxwalltime: numeric,
  nevents: numeric,
  ninputdatafiles: numeric,
  inputfilebytes: numeric,
  outputfilebytes: numeric,
  commandtopilot: text,
  transexitcode: text,
  piloterrorcode: numeric,
  piloterrordiag: text,
  exeerrorcode: numeric,
  exeerrordiag: text,
  ddmerrorcode: numeric,
  ddmerrordiag: text,
  taskbuffererrorcode: numeric,
  taskbuffererrordiag: text,
  brokerageerrorcode: numeric,
  brokerageerrordiag: text,
  jobdispatchererrorcode: numeric,
  jobdispatchererrordiag: text,
  superrorcode: numeric,
  superrordiag: text,
  errorinfo: text,
  error_category: text,
});
export type Job = z.infer<typeof JobSchema>;

export const JobFileSchema = z.looseObject({
  lfn: z.string(),
  type: z.string(),
  status: text,
  fsize: numeric,
  dataset: text,
  scope: text,
});
export type JobFile = z.infer<typeof JobFileSchema>;

/** `/job?pandaid=N&json` */
export const JobResponseSchema = z.looseObject({
  job: JobSchema.nullable(),
  files: z.array(JobFileSchema).default([]),
  dsfiles: z.array(z.unknown()).default([]),
});
export type JobResponse = z.infer<typeof JobResponseSchema>;

export const ErrorCountSchema = z.looseObject({
  error: z.string(),
  codename: text,
  codeval: numeric,
  diag: text,
  desc: text,
  example_pandaid: numeric,
  count: z.number(),
});
export type ErrorCount = z.infer<typeof ErrorCountSchema>;

/** `/jobs/?jeditaskid=N&json&mode=nodrop` */
export const JobsResponseSchema = z.looseObject({
  selectionsummary: z.array(z.unknown()).default([]),
  jobs: z.array(JobSchema).default([]),
  errsByCount: z.array(ErrorCountSchema).default([]),
});
export type JobsResponse = z.infer<typeof JobsResponseSchema>;

export const DsInfoSchema = z.looseObject({
  nfiles: numeric,
  nfilesfinished: numeric,
  nfilesfailed: numeric,
  nfilesmissing: numeric,
  pctfinished: numeric,
  pctfailed: numeric,
  neventsTot: numeric,
  neventsUsedTot: numeric,
  neventsRemaining: numeric,
});

export const TaskSchema = z.looseObject({
  jeditaskid: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]),
  taskname: text,
  status: z.string(),
  superstatus: text,
  username: text,
  workinggroup: text,
  category: text,
  tasktype: text,
  processingtype: text,
  prodsourcelabel: text,
  creationdate: text,
  starttime: text,
  endtime: text,
  modificationtime: text,
  statechangetime: text,
  site: text,
  cloud: text,
  corecount: numeric,
  ramcount: numeric,
  ramunit: text,
  walltime: numeric,
  attemptnr: numeric,
  progress: numeric,
  failurerate: numeric,
  errordialog: text,
  transhome: text,
  dsinfo: DsInfoSchema.optional().nullable(),
});
export type Task = z.infer<typeof TaskSchema>;

export const DatasetSchema = z.looseObject({
  datasetid: numeric,
  datasetname: z.string(),
  containername: text,
  type: z.string(),
  streamname: text,
  status: text,
  masterid: numeric,
  nfiles: numeric,
  nfilesfinished: numeric,
  nfilesfailed: numeric,
  nfilesmissing: numeric,
  nfileswaiting: numeric,
  nevents: numeric,
  neventsused: numeric,
});
export type Dataset = z.infer<typeof DatasetSchema>;

/** `/task/N/?json` */
export const TaskResponseSchema = z.looseObject({
  task: TaskSchema,
  taskparams: z.record(z.string(), z.unknown()).optional().nullable(),
  datasets: z.array(DatasetSchema).default([]),
});
export type TaskResponse = z.infer<typeof TaskResponseSchema>;

/** `/tasks/?jeditaskid=N&json&extra=jobstatecount`: a bare list. */
export const TaskWithCountsSchema = TaskSchema.extend({
  job_state_count: z.record(z.string(), z.number()).optional().nullable(),
  datasets: z.array(DatasetSchema).optional(),
});
export const TasksResponseSchema = z.array(TaskWithCountsSchema);
export type TaskWithCounts = z.infer<typeof TaskWithCountsSchema>;

/** `/errors/?json&jeditaskid=N&hours=H` */
export const ErrorsResponseSchema = z.looseObject({
  errsByCount: z.array(ErrorCountSchema).default([]),
  errsBySite: z.array(z.looseObject({ name: z.string(), toterrors: numeric, toterrjobs: numeric })).default([]),
});
export type ErrorsResponse = z.infer<typeof ErrorsResponseSchema>;

/** `/filebrowser/?pandaid=N&json` */
export const LogListingSchema = z.looseObject({
  error: z
    .string()
    .optional()
    .nullable()
    .transform((v) => v ?? ''),
  files: z.array(z.looseObject({ name: z.string(), dirname: text, size: numeric, modification: text })).default([]),
});
export type LogListing = z.infer<typeof LogListingSchema>;

export const FINAL_JOB_STATES = ['finished', 'failed', 'cancelled', 'closed'] as const;
export const FAILED_JOB_STATES = ['failed', 'holding', 'closed', 'cancelled'] as const;

export function isFinalJobState(status: string): boolean {
  return (FINAL_JOB_STATES as readonly string[]).includes(status);
}
