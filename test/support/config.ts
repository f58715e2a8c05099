import type { Config } from '../../src/config/schema.ts';
import { loadConfig } from '../../src/load-config.ts';
import { tempDir } from './temp.ts';

/**
 * Configuration as shipped, read from `env` only (never the developer's environment), with a data
 * dir of its own; `overrides` changes what no environment name reaches.
 */
export function testConfig(env: Record<string, string> = {}, overrides: (config: Config) => void = () => {}): Config {
  const config = loadConfig({ env: { ASKPANDA_DATA_DIR: tempDir('config'), ...env } });
  overrides(config);
  return config;
}
