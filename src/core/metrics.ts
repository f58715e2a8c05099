import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus metrics, served at /metrics. One registry per process; the parts that
 * count (conversation core, model chain, monitor client, digests, store) import what they need.
 * Label values are closed sets (platform, agent, outcome …): never ids or user text.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const questionsTotal = new Counter({
  name: 'askpanda_questions_total',
  help: 'Questions answered, by platform, agent and outcome (answered, error kind, busy, failed).',
  labelNames: ['platform', 'agent', 'outcome'] as const,
  registers: [registry],
});

export const answerSeconds = new Histogram({
  name: 'askpanda_answer_seconds',
  help: 'Time from taking a question to its answer being ready, by platform and agent.',
  labelNames: ['platform', 'agent'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80],
  registers: [registry],
});

export const llmCallsTotal = new Counter({
  name: 'askpanda_llm_calls_total',
  help: 'Language model calls by provider and outcome (ok, timeout, rate_limited, server, connection, rejected, skipped).',
  labelNames: ['provider', 'outcome'] as const,
  registers: [registry],
});

export const llmTokensTotal = new Counter({
  name: 'askpanda_llm_tokens_total',
  help: 'Tokens sent to and received from language models, by provider and kind (input, output).',
  labelNames: ['provider', 'kind'] as const,
  registers: [registry],
});

export const llmCostUsdTotal = new Counter({
  name: 'askpanda_llm_cost_usd_total',
  help: 'Estimated cost of language model calls in US dollars (list prices), by provider.',
  labelNames: ['provider'] as const,
  registers: [registry],
});

export const monitorRequestsTotal = new Counter({
  name: 'askpanda_monitor_requests_total',
  help:
    'PanDA monitor requests by endpoint (job, task, tasks, errors, filebrowser, log, cric, …) ' +
    'and outcome (ok, cache_hit, not_found, rate_limited, error, timeout).',
  labelNames: ['endpoint', 'outcome'] as const,
  registers: [registry],
});

export const digestRunsTotal = new Counter({
  name: 'askpanda_digest_runs_total',
  help: 'Digest runs (scheduler ticks and `digest run`) that found work.',
  registers: [registry],
});
export const digestPostsTotal = new Counter({
  name: 'askpanda_digest_posts_total',
  help: 'Digest messages posted.',
  registers: [registry],
});
export const dedupeHitsTotal = new Counter({
  name: 'askpanda_dedupe_hits_total',
  help: 'Messages not answered because another delivery or replica already claimed them.',
  registers: [registry],
});
export const queueDepth = new Gauge({
  name: 'askpanda_queue_depth',
  help: 'Questions waiting for a free slot or being answered in this process.',
  registers: [registry],
});
export const storeErrorsTotal = new Counter({
  name: 'askpanda_store_errors_total',
  help: 'Failed state store operations (history, claims, caches, subscriptions).',
  registers: [registry],
});
export const mattermostReconnectsTotal = new Counter({
  name: 'askpanda_mattermost_reconnects_total',
  help: 'Mattermost websocket reconnects, by reason: sequence_gap (an event number skipped), ping_timeout (no pong), stalled (open but no events: found by the periodic check), closed (by the server or the network).',
  labelNames: ['reason'] as const,
  registers: [registry],
});
export const mattermostResyncPostsTotal = new Counter({
  name: 'askpanda_mattermost_resync_posts_total',
  help: 'Posts a Mattermost resync read again after websocket trouble, by result: missed (no event had delivered it; handed over now) or seen (already delivered).',
  labelNames: ['result'] as const,
  registers: [registry],
});
