import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeStoreUri, type Store } from '../../src/storage/store.ts';
import { openStore, storeUri } from '../../src/storage/open-store.ts';
import { REDIS_URL, sharedRedis } from '../support/services.ts';

const REDIS = REDIS_URL;
const REDIS_UP = await sharedRedis();
const opened: Store[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

async function open(store: string, dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-store-'))): Promise<Store> {
  const s = await openStore({ store, dataDir });
  opened.push(s);
  return s;
}

/** Runs the writer child until it says "written", then kills it with SIGKILL. */
async function writeThenKill(dataDir: string, store: string, prefix: string): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'writer-child.ts'), dataDir, store, prefix],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('written')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

describe.each([['sqlite', ''], ...(REDIS_UP ? [['redis', REDIS]] : [])])('%s store', (kind, uri) => {
  it('round-trips values per namespace, with TTL', async () => {
    const store = await open(uri);
    expect(store.kind).toBe(kind);
    const key = `rt-${Date.now()}-${Math.random()}`;
    await store.ns('history').set(key, [{ role: 'user', text: 'why did job 6802258254 fail?' }]);
    await store.ns('cache').set(key, 'cached');
    expect(await store.ns('history').get(key)).toEqual([{ role: 'user', text: 'why did job 6802258254 fail?' }]);
    expect(await store.ns('cache').get(key)).toBe('cached');
    expect(await store.ns('feedback').get(key)).toBeUndefined();
    await store.ns('dedupe').set(key, 1, 30);
    await new Promise((r) => setTimeout(r, 80));
    expect(await store.ns('dedupe').get(key)).toBeUndefined();
  });

  it('claims an id once, also when claimed concurrently, and again after the TTL', async () => {
    const a = await open(uri);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-claim-'));
    const [b, c] = uri ? [await open(uri), await open(uri)] : [await open(uri, dataDir), await open(uri, dataDir)];
    const key = `event-${Date.now()}-${Math.random()}`;
    const results = await Promise.all([
      b.claimOnce(key, 200),
      c.claimOnce(key, 200),
      b.claimOnce(key, 200),
      c.claimOnce(key, 200),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 260));
    expect(await c.claimOnce(key, 200)).toBe(true);
    expect(await a.claimOnce(`other-${key}`, 1000)).toBe(true);
  });

  it('keeps writes across kill -9 and restart', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'askpanda-kill-'));
    const prefix = `kill-${Date.now()}-`;
    await writeThenKill(dataDir, uri, prefix);
    const store = await open(uri, dataDir);
    expect(await store.ns('history').get(`${prefix}49`)).toEqual({ turn: 49, text: 'x'.repeat(100) });
    expect(await store.ns('subscriptions').get(`${prefix}-sub`)).toEqual({ task: 46374283 });
  });
});

describe('store location', () => {
  it('defaults to a SQLite file under the data dir', () => {
    expect(storeUri({ store: '', dataDir: '/var/lib/askpanda' })).toBe('sqlite:/var/lib/askpanda/askpanda.sqlite');
    expect(storeUri({ store: 'redis://10.0.0.1:6379', dataDir: './data' })).toBe('redis://10.0.0.1:6379');
  });

  it('does not show a Redis password in its location', () => {
    const where = describeStoreUri('redis://askpanda:not-a-real-password@redis.example.org:6379/2');
    expect(where).toBe('redis://redis.example.org:6379/2');
  });
});
