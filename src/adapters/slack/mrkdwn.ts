/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  if (!MRKDWN_CONTROL.test(text)) return text;
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
const MRKDWN_CONTROL = /[&<>]/;

const PLACEHOLDER = '\u0000';
const KEPT = new RegExp(`${PLACEHOLDER}(\\d+)${PLACEHOLDER}`, 'g');

/** One line of markdown (outside code fences) to mrkdwn: links, bold, italics, strikes, inline code. */
function inlineToMrkdwn(line: string): string {
  // Most lines of an answer are plain prose: each rewrite runs only when its marker is there.
  if (!INLINE_MARKERS.test(line)) return line;
  const kept: string[] = [];
  const keep = (s: string) => `${PLACEHOLDER}${kept.push(s) - 1}${PLACEHOLDER}`;
  let out = line;
  if (out.includes('`')) out = out.replace(/`([^`\n]+)`/g, (_m, code: string) => keep('`' + escapeMrkdwn(code) + '`'));
  if (out.includes(']('))
    out = out.replace(/\[([^\]\n]+)\]\(((?:https?|mailto):[^)\s]+)\)/g, (_m, title: string, url: string) =>
      keep(slackLink(url, title)),
    );
  if (out.includes('<')) out = out.replace(/<((?:https?|mailto):[^>\s]+)>/g, (_m, url: string) => keep(slackLink(url)));
  out = escapeMrkdwn(out);
  if (out.includes('**')) out = out.replace(/\*\*(?=\S)([^*\n]+?)\*\*/g, '\u0001$1\u0001');
  if (out.includes('__')) out = out.replace(/__(?=\S)([^_\n]+?)__/g, '\u0001$1\u0001');
  if (out.includes('*')) out = out.replace(/(^|[^\w*])\*(?=\S)([^*\n]+?)\*(?![\w*])/g, '$1_$2_');
  if (out.includes('~~')) out = out.replace(/~~(?=\S)([^~\n]+?)~~/g, '~$1~');
  if (out.includes('\u0001')) out = out.replace(/\u0001/g, '*');
  return kept.length ? out.replace(KEPT, (_m, i: string) => kept[Number(i)] ?? '') : out;
}
/** Characters any of the inline rewrites below starts from. */
const INLINE_MARKERS = /[`[<>&*_~\u0001]/;

/** `<url|title>`; characters that would end the link early are replaced or escaped. */
export function slackLink(url: string, title?: string): string {
  const safeUrl = url.replace(/[<>|\s]/g, encodeURIComponent);
  if (!title || title === url) return `<${safeUrl}>`;
  return `<${safeUrl}|${escapeMrkdwn(title.replace(/\|/g, '/'))}>`;
}

const FIRST_VISIBLE = /\S/;

/**
 * The bot's markdown (`**bold**`, `[title](url)`, fenced code, `- ` lists, `#` headings) in Slack's
 * mrkdwn dialect (`*bold*`, `<url|title>`, ``` fences without a language, `•` bullets).
 */
export function markdownToMrkdwn(markdown: string): string {
  const out: string[] = [];
  let fence: string | undefined;
  for (const raw of (markdown.includes('\r') ? markdown.replace(/\r\n?/g, '\n') : markdown).split('\n')) {
    // Block syntax is recognised by a line's first visible character; prose lines skip every pattern.
    const lead = FIRST_VISIBLE.exec(raw)?.[0] ?? '';
    const fenceMatch = lead === '`' || lead === '~' ? raw.match(/^\s*(```|~~~)/) : null;
    if (fence) {
      if (fenceMatch && fenceMatch[1] === fence && raw.trim() === fence) {
        out.push('```');
        fence = undefined;
      } else {
        out.push(escapeMrkdwn(raw));
      }
      continue;
    }
    if (fenceMatch) {
      fence = fenceMatch[1];
      out.push('```');
      continue;
    }
    const heading = lead === '#' ? raw.match(/^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/) : null;
    if (heading) {
      out.push(`*${inlineToMrkdwn(heading[1]!).replace(/^\*(.*)\*$/, '$1')}*`);
      continue;
    }
    if ((lead === '-' || lead === '*' || lead === '_') && /^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(raw)) {
      out.push('──────────');
      continue;
    }
    const quote = lead === '>' ? raw.match(/^(\s*>\s?)(.*)$/) : null;
    if (quote) {
      out.push(`>${inlineToMrkdwn(quote[2]!)}`);
      continue;
    }
    const bullet = lead === '-' || lead === '*' || lead === '+' ? raw.match(/^(\s*)[-*+]\s+(.*)$/) : null;
    if (bullet) {
      out.push(`${bullet[1]}• ${inlineToMrkdwn(bullet[2]!)}`);
      continue;
    }
    out.push(inlineToMrkdwn(raw));
  }
  if (fence) out.push('```');
  return out.join('\n');
}
