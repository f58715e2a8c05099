/**
 * Removes credentials from free text before it is logged or sent to a language model. Logs, job
 * parameters and user messages routinely carry tokens (pilot logs print proxies, env dumps print
 * keys), so every prompt passes through here. Patterns err on the side of redacting too much.
 */
const REPLACEMENT = '[redacted]';

interface Rule {
  pattern: RegExp;
  replace: string | ((...groups: string[]) => string);
}

/** Key names whose values are secrets, as patterns: "api[_-]?key" is api_key, api-key and apikey. */
const SECRET_KEY_NAMES = [
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'api[_-]?key',
  'access[_-]?key',
  'private[_-]?key',
  'client[_-]?secret',
  'session[_-]?id',
].join('|');

const RULES: Rule[] = [
  // PEM blocks: private keys, certificates, X.509 grid proxies.
  {
    pattern: /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g,
    replace: `${REPLACEMENT} (PEM block)`,
  },
  // Authorization headers and bearer/token schemes.
  {
    pattern: /\b(authorization\s*[:=]\s*)(?:bearer|token|basic)?\s*[^\s'",;]+/gi,
    replace: (_m, head: string) => `${head}${REPLACEMENT}`,
  },
  {
    pattern: /\b(bearer|token)\s+[A-Za-z0-9\-._~+/]{16,}=*/gi,
    replace: (_m, scheme: string) => `${scheme} ${REPLACEMENT}`,
  },
  // JSON Web Tokens (OIDC tokens of PanDA/IAM).
  { pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, replace: REPLACEMENT },
  // Provider and platform keys: OpenAI/Anthropic sk-…, Slack xox?-/xapp-, Google AIza…, GitHub, AWS.
  { pattern: /\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}/g, replace: REPLACEMENT },
  { pattern: /\bxox[abposr]-[A-Za-z0-9-]{8,}/g, replace: REPLACEMENT },
  { pattern: /\bxapp-[A-Za-z0-9-]{8,}/g, replace: REPLACEMENT },
  { pattern: /\bAIza[0-9A-Za-z_-]{30,}/g, replace: REPLACEMENT },
  { pattern: /\bgh[pousr]_[A-Za-z0-9]{30,}/g, replace: REPLACEMENT },
  { pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, replace: REPLACEMENT },
  // Cookies, whole header value.
  { pattern: /\b((?:set-)?cookie\s*[:=]\s*)[^\n]+/gi, replace: (_m, head: string) => `${head}${REPLACEMENT}` },
  // URL credentials: scheme://user:password@host.
  {
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi,
    replace: (_m, head: string) => `${head}${REPLACEMENT}@`,
  },
  // key=value / key: value pairs whose key names a secret (password=…, api_key: …, X509_USER_PROXY is a path, kept).
  {
    pattern: new RegExp(String.raw`\b([A-Za-z0-9_.-]*(?:${SECRET_KEY_NAMES})["']?\s*[:=]\s*)(["']?)[^\s"',;&]+`, 'gi'),
    replace: (_m, head: string, quote: string) => `${head}${quote}${REPLACEMENT}`,
  },
];

/** The text with every credential-looking substring replaced by "[redacted]". */
export function redactSecrets(text: string): string {
  let out = text;
  for (const rule of RULES) {
    out =
      typeof rule.replace === 'string'
        ? out.replace(rule.pattern, rule.replace)
        : out.replace(rule.pattern, rule.replace as (...args: string[]) => string);
  }
  return out;
}

const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]+-----/;
const PEM_END = /-----END [A-Z0-9 ]+-----/;

/**
 * Line-by-line redaction that keeps the number of lines (evidence keeps its line numbers): a
 * PEM block spread over several lines becomes one "[redacted]" per line.
 */
export function redactLines(lines: readonly string[]): string[] {
  let insidePem = false;
  return lines.map((line) => {
    if (PEM_BEGIN.test(line)) {
      insidePem = !PEM_END.test(line.slice(line.search(PEM_BEGIN) + 10));
      return `${REPLACEMENT} (PEM block)`;
    }
    if (insidePem) {
      if (PEM_END.test(line)) insidePem = false;
      return REPLACEMENT;
    }
    return redactSecrets(line);
  });
}
