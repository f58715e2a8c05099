import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, redactedConfig } from '../../src/config/load.ts';
import { envNamesFor, loadConfig, loadConfigDetailed } from '../../src/load-config.ts';
import { isDemoMode } from '../../src/config/demo-mode.ts';
import { configuredPlatforms } from '../../src/adapters/registry.ts';

const load = (env: Record<string, string>) => loadConfig({ env });

function configError(env: Record<string, string>): string {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('configuration', () => {
  it('has a default for every setting', () => {
    const config = load({});
    expect(config.monitor.url).toBe('https://bigpanda.cern.ch');
    expect(config.llm.chain).toEqual(['offline']);
    expect(config.rag.docs).toEqual(['config/bot-handbook']);
    expect(config.logs.contextBefore).toBe(40);
    expect(config.logs.contextAfter).toBe(10);
    expect(config.port).toBe(3000);
  });

  it('reads the DESIGN.md environment names and the generic ASKPANDA_ names', () => {
    const config = load({
      PANDA_MONITOR_URL: 'http://127.0.0.1:8080',
      ASKPANDA_LLM: 'anthropic, openai,offline',
      ASKPANDA_OPENAI_MODEL: 'gpt-4.1-mini',
      ASKPANDA_HISTORY_MAX_TURNS: '4',
      ASKPANDA_DEMO: 'yes',
      ASKPANDA_STORE: 'redis://127.0.0.1:6379',
    });
    expect(config.monitor.url).toBe('http://127.0.0.1:8080');
    expect(config.llm.chain).toEqual(['anthropic', 'openai', 'offline']);
    expect(config.llm.openai.model).toBe('gpt-4.1-mini');
    expect(config.history.maxTurns).toBe(4);
    expect(config.demo).toBe(true);
    expect(config.store).toBe('redis://127.0.0.1:6379');
    expect(envNamesFor('llm.openai.model')).toEqual(['ASKPANDA_OPENAI_MODEL', 'ASKPANDA_LLM_OPENAI_MODEL']);
  });

  it('names the setting, the bad value and what is allowed in one line', () => {
    const wrongType = configError({ ASKPANDA_PORT: 'eighty' });
    expect(wrongType).toContain('port');
    expect(wrongType).toContain('"eighty"');
    expect(wrongType).toContain('ASKPANDA_PORT');
    expect(wrongType).toMatch(/whole number from 0 to 65535/);
    expect(wrongType.split('\n')).toHaveLength(1);

    expect(configError({ ASKPANDA_LLM: 'openai,gpt5' })).toMatch(
      /llm\.chain.*"gpt5".*openai, anthropic, gemini, mistral, ollama, offline/,
    );
    expect(configError({ PANDA_MONITOR_URL: 'bigpanda.cern.ch' })).toMatch(
      /monitor\.url.*expected an http\(s\):\/\/ URL/,
    );
    expect(configError({ ASKPANDA_DEMO: 'maybe' })).toMatch(/demo.*"maybe".*true or false/);
    expect(configError({ ASKPANDA_STORE: 'mysql://x' })).toMatch(/store.*sqlite:<path>, redis:\/\/host:port/);
  });

  it('rejects a missing required value', () => {
    expect(configError({ ASKPANDA_OPENAI_MODEL: '' })).toMatch(/llm\.openai\.model.*expected a model name/);
    expect(configError({ ASKPANDA_DATA_DIR: '' })).toMatch(/dataDir/);
  });

  it('never echoes a secret, in errors or in printed configuration', () => {
    const secret = 'xoxb-1234567890-SECRETVALUE';
    // A token that fails validation is reported without its value.
    const message = configError({ ASKPANDA_CONFIG: writeYaml('slack:\n  botToken: 987654321\n') });
    expect(message).toContain('slack.botToken');
    expect(message).toContain('(hidden)');
    expect(message).not.toContain('987654321');
    const shown = JSON.stringify(redactedConfig(load({ SLACK_BOT_TOKEN: secret, OPENAI_API_KEY: 'sk-live-abc' })));
    expect(shown).not.toContain('SECRETVALUE');
    expect(shown).not.toContain('sk-live-abc');
    expect(shown).toContain('(set)');
  });

  it('layers a user file and rejects unknown keys in it', () => {
    expect(load({ ASKPANDA_CONFIG: writeYaml('history:\n  maxTurns: 3\n') }).history.maxTurns).toBe(3);
    expect(configError({ ASKPANDA_CONFIG: writeYaml('histroy:\n  maxTurns: 3\n') })).toMatch(
      /Unknown setting histroy\.maxTurns/,
    );
  });

  it('runs the demo only when nothing is configured or it is asked for', () => {
    const demo = (env: Record<string, string>) => {
      const { config, origin } = loadConfigDetailed({ env });
      return isDemoMode(config, origin, configuredPlatforms(config).length > 0);
    };
    expect(demo({})).toBe(true);
    expect(demo({ PANDA_MONITOR_URL: 'https://bigpanda.cern.ch' })).toBe(false);
    expect(demo({ SLACK_BOT_TOKEN: 'xoxb-1' })).toBe(false);
    expect(demo({ ASKPANDA_DEMO: '0' })).toBe(false);
    expect(demo({ ASKPANDA_DEMO: '1', PANDA_MONITOR_URL: 'https://bigpanda.cern.ch' })).toBe(true);
  });
});

function writeYaml(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'askpanda-config-')), 'c.yaml');
  writeFileSync(file, text);
  return file;
}
