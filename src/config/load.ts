import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ProviderSettingsSpec } from './provider-settings.ts';
import { ENV_ALIASES, configSchemaWith, isSecretKey, type Config } from './schema.ts';

/** The package root (where config/ lives), independent of the current directory. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_CONFIG_FILE = path.join(PACKAGE_ROOT, 'config', 'default.yaml');

/** A configuration problem: one line naming the setting, the bad value and what is allowed. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Tree = { [key: string]: unknown };

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function genericEnvName(keyPath: string): string {
  return (
    'ASKPANDA_' +
    keyPath
      .split('.')
      .map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
      .join('_')
  );
}

/**
 * Env names for a key: its own name first (DESIGN.md's, or the one its provider declares; it wins),
 * then the generic name.
 */
export function envNamesFor(keyPath: string, providers: readonly ProviderSettingsSpec[]): string[] {
  const [section, name, key] = keyPath.split('.');
  const declared =
    section === 'llm' && key !== undefined ? providers.find((p) => p.name === name)?.settings[key]?.env : undefined;
  const alias = ENV_ALIASES[keyPath] ?? declared;
  const generic = genericEnvName(keyPath);
  return alias && alias !== generic ? [alias, generic] : [generic];
}

function leaves(tree: Tree, prefix = ''): Array<[string, unknown]> {
  return Object.entries(tree).flatMap(([key, value]) => {
    const keyPath = prefix ? `${prefix}.${key}` : key;
    return isTree(value) ? leaves(value, keyPath) : [[keyPath, value] as [string, unknown]];
  });
}

function setPath(tree: Tree, keyPath: string, value: unknown): void {
  const parts = keyPath.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    if (!isTree(node[part])) node[part] = {};
    node = node[part] as Tree;
  }
  node[parts[parts.length - 1]!] = value;
}

function getPath(tree: Tree, keyPath: readonly PropertyKey[]): unknown {
  let node: unknown = tree;
  for (const part of keyPath) {
    if (!isTree(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

/** Environment values are strings; read them as the type the default has. */
function fromEnv(raw: string, like: unknown): unknown {
  if (typeof like === 'number') {
    const n = Number(raw.trim());
    return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
  }
  if (typeof like === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
    return raw;
  }
  if (Array.isArray(like))
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return raw;
}

/** Values that may be written as one comma-separated string in YAML too. */
const LIST_KEYS = ['llm.chain', 'rag.docs', 'mattermost.slashTokens', 'digest.admins'];

function readYaml(file: string): Tree {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(
      `Cannot read configuration file ${file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  }
  if (parsed == null) return {};
  if (!isTree(parsed)) throw new ConfigError(`Configuration file ${file} must hold a YAML mapping of settings.`);
  return parsed;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Extra settings over defaults and env (tests, CLI flags). */
  overrides?: Record<string, unknown>;
}

/**
 * Defaults from config/default.yaml and from each provider's declaration, then ASKPANDA_CONFIG's
 * file, then the environment, then overrides; with, per key set from outside the defaults, where it
 * came from. `providers` are the language models ASKPANDA_LLM may name (src/load-config.ts gives
 * the registry's).
 */
export function loadConfigWith(
  providers: readonly ProviderSettingsSpec[],
  options: LoadOptions = {},
): { config: Config; origin: ReadonlyMap<string, string> } {
  const env = options.env ?? process.env;
  const tree = readYaml(DEFAULT_CONFIG_FILE);
  for (const provider of providers)
    for (const [key, setting] of Object.entries(provider.settings))
      setPath(tree, `llm.${provider.name}.${key}`, setting.default);
  const defaults = new Map(leaves(tree));
  const origin = new Map<string, string>();

  const userFile = env.ASKPANDA_CONFIG;
  if (userFile) {
    for (const [keyPath, value] of leaves(readYaml(userFile))) {
      if (!defaults.has(keyPath))
        throw new ConfigError(
          `Unknown setting ${keyPath} in ${userFile}; see config/default.yaml for the settings there are.`,
        );
      setPath(tree, keyPath, value);
      origin.set(keyPath, userFile);
    }
  }
  for (const [keyPath, like] of defaults) {
    for (const name of envNamesFor(keyPath, providers)) {
      const raw = env[name];
      if (raw === undefined) continue;
      setPath(tree, keyPath, fromEnv(raw, LIST_KEYS.includes(keyPath) ? [] : like));
      origin.set(keyPath, name);
      break;
    }
  }
  for (const [keyPath, value] of Object.entries(options.overrides ?? {})) {
    setPath(tree, keyPath, value);
    origin.set(keyPath, 'override');
  }
  for (const keyPath of LIST_KEYS) {
    const value = getPath(tree, keyPath.split('.'));
    if (typeof value === 'string') setPath(tree, keyPath, fromEnv(value, []));
  }

  const result = configSchemaWith(providers).safeParse(tree);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    // An array element's problem is reported against the setting itself.
    const settingPath = issue.path.filter((p) => typeof p === 'string').join('.');
    const value = getPath(tree, settingPath.split('.'));
    const shown = isSecretKey(settingPath) ? '(hidden)' : JSON.stringify(value);
    const from = origin.get(settingPath);
    const where = from ? ` (from ${from})` : '';
    const names = envNamesFor(settingPath, providers).join(' or ');
    throw new ConfigError(
      `Invalid setting ${settingPath}${where} = ${shown}: ${issue.message}. Set ${names} or edit config/default.yaml.`,
    );
  }
  return { config: result.data, origin };
}

/** The configuration with secrets replaced, for `askpanda config` and start-up logs. */
export function redactedConfig(config: Config): Tree {
  const copy = structuredClone(config) as unknown as Tree;
  for (const [keyPath, value] of leaves(copy)) {
    if (isSecretKey(keyPath) && typeof value === 'string' && value !== '') setPath(copy, keyPath, '(set)');
  }
  return copy;
}
