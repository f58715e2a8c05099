import cron from 'node-cron';
import { z } from 'zod';
import { parseSchedule } from '../core/schedule.ts';
import { canonicalZone } from '../util/zone.ts';
import type { ProviderSettingsSpec } from './provider-settings.ts';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .number({ error: `expected a whole number from ${min} to ${max}` })
    .int({ error: `expected a whole number from ${min} to ${max}` })
    .min(min, { error: `expected a whole number from ${min} to ${max}` })
    .max(max, { error: `expected a whole number from ${min} to ${max}` });
const bool = z.boolean({ error: 'expected true or false (1/0, yes/no)' });
const httpUrl = z.string().refine((s) => /^https?:\/\/[^\s]+$/.test(s), { error: 'expected an http(s):// URL' });
const optionalHttpUrl = z
  .string()
  .refine((s) => s === '' || /^https?:\/\/[^\s]+$/.test(s), { error: 'expected an http(s):// URL or empty' });
const text = z.string({ error: 'expected text' });
/** A shared secret clients send as a bearer token: long enough not to be guessed, no spaces. */
const bearerSecret = text.refine((s) => s === '' || /^[\x21-\x7e]{16,512}$/.test(s), {
  error: 'expected empty or 16-512 printable characters without spaces (e.g. the output of `openssl rand -hex 32`)',
});

/** Checks for settings declared outside this folder (each language model provider's, see provider-settings.ts). */
export const settingChecks = {
  text,
  httpUrl,
  optionalHttpUrl,
  modelName: text.min(1, { error: 'expected a model name' }),
} as const;

export const ConfigSchema = z.object({
  dataDir: text.min(1, { error: 'expected a folder path' }),
  store: z.string().refine((s) => s === '' || s.startsWith('sqlite:') || /^rediss?:\/\//.test(s), {
    error: 'expected sqlite:<path>, redis://host:port or empty',
  }),
  storeBusyTimeoutMs: int(0, 600_000),
  demo: bool,
  port: int(0, 65535),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    error: 'expected one of fatal, error, warn, info, debug, trace, silent',
  }),
  monitor: z.object({
    url: httpUrl,
    token: text,
    timeoutMs: int(100),
    retries: int(0, 10),
    maxRetryAfterSeconds: int(0, 3600),
    concurrency: int(1, 64),
    metadataTtlSeconds: int(0),
    logCacheTtlSeconds: int(0),
    maxJsonBytes: int(1024),
    maxLogBytes: int(1024),
    logReadTimeoutMs: int(1000),
    errorsHours: int(1, 24 * 31),
  }),
  cric: z.object({
    url: httpUrl,
    file: text,
    cert: text,
    key: text,
    ca: text,
    ttlSeconds: int(0, 7 * 24 * 3600),
    keepHours: int(1, 24 * 365),
    timeoutMs: int(100),
    retries: int(0, 10),
    maxBytes: int(1024),
  }),
  pandaServer: z.object({ url: httpUrl, timeoutMs: int(100), slowMs: int(1) }),
  logs: z.object({
    contextBefore: int(0, 1000),
    contextAfter: int(0, 1000),
    maxLineChars: int(80, 100_000),
    tailLines: int(1, 10_000),
    maxMatches: int(1, 100_000),
  }),
  bot: z.object({ name: text.min(1), maxMessageChars: int(1, 100_000) }),
  limits: z.object({
    maxConcurrent: int(1, 1024),
    maxQueued: int(0, 100_000),
    perUserInFlight: int(1, 100_000),
    perUserPerMinute: int(1, 100_000),
    perMinute: int(1, 1_000_000),
  }),
  history: z.object({ maxTurns: int(0, 200), maxChars: int(0, 1_000_000), ttlDays: int(1, 3650) }),
  llm: z.object({
    /** Names of language model providers, checked against their registry by configSchemaWith. */
    chain: z.array(text),
    timeoutMs: int(100),
    concurrency: int(1, 256),
    maxInputTokens: int(500),
    maxOutputTokens: int(16),
    breakerFailures: int(1, 100),
    breakerCooldownSeconds: int(0),
  }),
  rag: z.object({
    vectors: z.enum(['local', 'pinecone'], { error: 'expected local or pinecone' }),
    docs: z.array(text.min(1)),
    embeddings: z.enum(['none', 'openai', 'gemini', 'mistral', 'ollama'], {
      error: 'expected none, openai, gemini, mistral or ollama',
    }),
    embeddingModel: text,
    chunkChars: int(200, 20_000),
    chunkOverlap: int(0, 5_000),
    topK: int(1, 50),
    pinecone: z.object({ apiKey: text, index: text, host: optionalHttpUrl, namespace: text }),
    web: z.object({
      maxPages: int(1, 100_000),
      depth: int(0, 50),
      delayMs: int(0, 60_000),
      timeoutMs: int(1_000, 600_000),
      maxPageBytes: int(10_000, 200 * 1024 * 1024),
      userAgent: text.min(1),
    }),
  }),
  slack: z.object({
    botToken: text,
    appToken: text,
    signingSecret: text,
    apiUrl: optionalHttpUrl,
    postIntervalMs: int(0, 60_000),
    streamUpdateMs: int(200, 60_000),
  }),
  publicUrl: optionalHttpUrl,
  mcp: z.object({ token: bearerSecret }),
  openaiApi: z.object({
    apiKey: bearerSecret,
    model: text.regex(/^[\w.:-]{1,64}$/, {
      error: 'expected a model name of 1-64 letters, digits, dots, colons, dashes or underscores',
    }),
  }),
  web: z.object({ enabled: bool }),
  mattermost: z.object({
    url: optionalHttpUrl,
    token: text,
    slashTokens: z.array(text.min(1)),
    actionSecret: text,
    // Below the 60 minutes a message's claim lasts (conversation.ts): an older post could be answered twice.
    resyncMinutes: int(0, 55),
    pingSeconds: int(1, 600),
    checkSeconds: int(0, 3600),
    postUpdateMs: int(1000, 60_000),
  }),
  digest: z.object({
    schedule: text.refine(
      (s) => {
        const parsed = parseSchedule(s.trim().split(/\s+/));
        return Boolean(parsed && 'schedule' in parsed && parsed.rest.length === 0);
      },
      {
        error: 'expected "daily at HH:MM", "weekdays at HH:MM" or "every Nh" (N = 1, 2, 3, 4, 6, 8, 12 or 24)',
      },
    ),
    timezone: text.refine((s) => canonicalZone(s) !== undefined, {
      error: 'expected an IANA time zone such as UTC or Europe/Zurich',
    }),
    quiet: z.enum(['post', 'silent'], { error: 'expected post or silent' }),
    changes: z.enum(['anyone', 'admins'], { error: 'expected anyone or admins' }),
    admins: z.array(text.min(1)),
    maxPerChannel: int(1, 1000),
    retryMinutes: int(1, 1440),
    maxDelayMinutes: int(0, 7 * 1440),
    claimLeaseSeconds: int(30, 86_400),
    scheduler: bool,
    tick: text.refine((s) => cron.validate(s), { error: 'expected a node-cron expression such as "* * * * *"' }),
  }),
});

/**
 * The settings without any provider's. Each language model provider's settings (llm.<provider>) are
 * declared by the provider (provider-settings.ts) and present at run time; `providerSettings` reads them.
 */
export type Config = z.infer<typeof ConfigSchema>;

/** The schema the configuration is checked with: ASKPANDA_LLM may name these providers, each has its settings. */
export function configSchemaWith(providers: readonly ProviderSettingsSpec[]) {
  const names = providers.map((p) => p.name);
  const chain = z
    .array(z.enum(names, { error: `expected a comma-separated list of ${names.join(', ')}` }))
    .min(1, { error: `expected at least one of ${names.join(', ')}` });
  const sections = Object.fromEntries(
    providers
      .filter((p) => Object.keys(p.settings).length > 0)
      .map((p) => [p.name, z.object(Object.fromEntries(Object.entries(p.settings).map(([k, s]) => [k, s.check])))]),
  );
  return ConfigSchema.extend({ llm: ConfigSchema.shape.llm.extend({ chain, ...sections }) });
}

/** Environment names from DESIGN.md (each provider declares its own); every key also has the generic ASKPANDA_<PATH> name. */
export const ENV_ALIASES: Record<string, string> = {
  dataDir: 'ASKPANDA_DATA_DIR',
  store: 'ASKPANDA_STORE',
  demo: 'ASKPANDA_DEMO',
  port: 'ASKPANDA_PORT',
  logLevel: 'ASKPANDA_LOG_LEVEL',
  'monitor.url': 'PANDA_MONITOR_URL',
  'monitor.token': 'PANDA_MONITOR_TOKEN',
  'cric.url': 'CRIC_URL',
  'cric.file': 'ASKPANDA_CRIC_FILE',
  'cric.cert': 'CRIC_CERT',
  'cric.key': 'CRIC_KEY',
  'pandaServer.url': 'PANDA_SERVER_URL',
  'llm.chain': 'ASKPANDA_LLM',
  'rag.vectors': 'ASKPANDA_VECTORS',
  'rag.pinecone.apiKey': 'PINECONE_API_KEY',
  'rag.pinecone.index': 'PINECONE_INDEX',
  'rag.pinecone.host': 'PINECONE_HOST',
  'slack.botToken': 'SLACK_BOT_TOKEN',
  'slack.appToken': 'SLACK_APP_TOKEN',
  'slack.signingSecret': 'SLACK_SIGNING_SECRET',
  'slack.apiUrl': 'SLACK_API_URL',
  'mattermost.url': 'MATTERMOST_URL',
  'mattermost.token': 'MATTERMOST_TOKEN',
  'mattermost.slashTokens': 'MATTERMOST_SLASH_TOKEN',
  publicUrl: 'ASKPANDA_PUBLIC_URL',
  'mcp.token': 'ASKPANDA_MCP_TOKEN',
  'openaiApi.apiKey': 'ASKPANDA_OPENAI_KEY',
  'digest.admins': 'ASKPANDA_ADMINS',
};

/** Keys whose values are never printed: in errors, logs, `--help` or `config` output. */
export function isSecretKey(path: string): boolean {
  const leaf = path.split('.').pop() ?? '';
  return /token|apikey|secret|password/i.test(leaf);
}
