import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, envNamesFor, loadConfigWith } from '../../src/config/load.ts';
import { providerSettings } from '../../src/config/provider-settings.ts';
import { loadConfig } from '../../src/load-config.ts';
import { createChatModel } from '../../src/llm/create.ts';
import { OpenAIChatModel } from '../../src/llm/openai.ts';
import { apiSettings, defineProvider } from '../../src/llm/provider.ts';
import { PROVIDERS } from '../../src/llm/providers.ts';
import { silentLogger } from '../../src/util/log.ts';
import { FAKES, text, type LlmFake } from '../fakes/llm/index.ts';

/**
 * A provider added the way a real one is, as one descriptor: here an OpenAI-compatible server of
 * its own name (a vLLM deployment), with variables of its own.
 */
const vllm = defineProvider({
  name: 'vllm',
  settings: apiSettings(
    { apiKey: 'VLLM_API_KEY', baseUrl: 'VLLM_BASE_URL', model: 'ASKPANDA_VLLM_MODEL' },
    'llama-3-70b',
  ),
  requires: 'apiKey',
  create: async (settings, limits) => new OpenAIChatModel({ ...settings, ...limits }),
});
const WITH_VLLM = [...PROVIDERS, vllm];

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('a language model provider added as one descriptor', () => {
  let fake: LlmFake;
  beforeAll(async () => {
    fake = await FAKES.openai().start();
  });
  afterAll(() => fake.close());

  it('takes its settings from the variables its descriptor names, and its defaults from there too', () => {
    const env = { ASKPANDA_LLM: 'vllm,offline', VLLM_API_KEY: 'k-1', VLLM_BASE_URL: `${fake.origin}/v1` };
    const { config, origin } = loadConfigWith(WITH_VLLM, { env });
    expect(config.llm.chain).toEqual(['vllm', 'offline']);
    expect(providerSettings(config, 'vllm')).toEqual({
      apiKey: 'k-1',
      baseUrl: `${fake.origin}/v1`,
      model: 'llama-3-70b',
    });
    expect(origin.get('llm.vllm.apiKey')).toBe('VLLM_API_KEY');
    expect(envNamesFor('llm.vllm.model', WITH_VLLM)).toEqual(['ASKPANDA_VLLM_MODEL', 'ASKPANDA_LLM_VLLM_MODEL']);
    const generic = loadConfigWith(WITH_VLLM, { env: { ASKPANDA_LLM_VLLM_MODEL: 'qwen-2' } }).config;
    expect(providerSettings(generic, 'vllm').model).toBe('qwen-2');
    expect(configError(() => loadConfigWith(WITH_VLLM, { env: { VLLM_BASE_URL: 'not a url' } }))).toMatch(
      /llm\.vllm\.baseUrl \(from VLLM_BASE_URL\) = "not a url": expected an http\(s\):\/\/ URL or empty\. Set VLLM_BASE_URL/,
    );
  });

  it('answers in the fallback chain through its factory', async () => {
    const env = {
      ASKPANDA_LLM: 'vllm,offline',
      VLLM_API_KEY: 'k-2',
      VLLM_BASE_URL: `${fake.origin}/v1`,
      ASKPANDA_VLLM_MODEL: 'qwen-2',
    };
    const model = await createChatModel(loadConfigWith(WITH_VLLM, { env }).config, silentLogger, [], WITH_VLLM);
    fake.enqueue(text('The input file was not at BNL.'));
    const result = await model.complete({ messages: [{ role: 'user', content: 'Why did job 6802258254 fail?' }] });
    expect(result.text).toBe('The input file was not at BNL.');
    const sent = fake.requests.at(-1)!;
    expect(sent.headers.authorization).toBe('Bearer k-2');
    expect((sent.body as { model?: string }).model).toBe('qwen-2');
  });

  it('is skipped with a start-up notice naming its key variable when the key is empty', async () => {
    const notices: string[] = [];
    const config = loadConfigWith(WITH_VLLM, { env: { ASKPANDA_LLM: 'vllm,offline' } }).config;
    const model = await createChatModel(config, silentLogger, notices, WITH_VLLM);
    expect(model.offline).toBe(true);
    expect(notices).toEqual(['ASKPANDA_LLM names vllm but VLLM_API_KEY is empty: vllm is skipped.']);
  });

  it('is known to ASKPANDA_LLM and to a settings file only once registered', () => {
    expect(configError(() => loadConfigWith(PROVIDERS, { env: { ASKPANDA_LLM: 'vllm' } }))).toMatch(
      /llm\.chain .*expected a comma-separated list of openai, anthropic, gemini, mistral, ollama, offline\./,
    );
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'askpanda-provider-')), 'settings.yaml');
    writeFileSync(file, 'llm:\n  vllm:\n    model: qwen-2\n');
    expect(configError(() => loadConfigWith(PROVIDERS, { env: { ASKPANDA_CONFIG: file } }))).toMatch(
      /Unknown setting llm\.vllm\.model/,
    );
    expect(providerSettings(loadConfigWith(WITH_VLLM, { env: { ASKPANDA_CONFIG: file } }).config, 'vllm').model).toBe(
      'qwen-2',
    );
  });
});

describe('the registered providers', () => {
  it('keep the environment names DESIGN.md promises, each spelled once', () => {
    const names = PROVIDERS.flatMap((p) => Object.values(p.settings).map((s: { env: string }) => s.env));
    expect(names).toEqual([
      'OPENAI_API_KEY',
      'OPENAI_BASE_URL',
      'ASKPANDA_OPENAI_MODEL',
      'ANTHROPIC_API_KEY',
      'ANTHROPIC_BASE_URL',
      'ASKPANDA_ANTHROPIC_MODEL',
      'GEMINI_API_KEY',
      'GEMINI_BASE_URL',
      'ASKPANDA_GEMINI_MODEL',
      'MISTRAL_API_KEY',
      'MISTRAL_BASE_URL',
      'ASKPANDA_MISTRAL_MODEL',
      'OLLAMA_HOST',
      'ASKPANDA_OLLAMA_MODEL',
    ]);
  });

  it('read each of those variables into their own setting', () => {
    for (const provider of PROVIDERS) {
      for (const [key, setting] of Object.entries(provider.settings) as Array<[string, { env: string }]>) {
        const value = key === 'baseUrl' || key === 'host' ? `http://${provider.name}.example:8080` : `${key}-value`;
        const config = loadConfig({ env: { [setting.env]: value } });
        expect(providerSettings(config, provider.name)[key], setting.env).toBe(value);
      }
    }
  });
});
