/**
 * HTML documentation pages to the Markdown subset the chunker understands (headings, paragraphs,
 * list items, code, pipe tables), and the links a crawler may follow from them. Sphinx/Read the
 * Docs and MkDocs pages carry navigation around the text: when the page marks its main content
 * (`<main>`, `role="main"`, `<article>`), only that is read.
 */
const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  ndash: '–',
  mdash: '—',
  rsquo: '’',
  lsquo: '‘',
  rdquo: '”',
  ldquo: '“',
  hellip: '…',
};

export function htmlToMarkdown(html: string): string {
  const title = /<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1]?.replace(/\s+/g, ' ').trim();
  let text = mainContent(html.replace(/<!--[\s\S]*?-->/g, ''));
  text = text.replace(/<(script|style|nav|header|footer|noscript|svg|form|button)\b[\s\S]*?<\/\1>/gi, '');
  if (title && !/<title\b/i.test(text)) text = `<title>${title}</title>\n${text}`;
  text = text.replace(
    /<title\b[^>]*>([\s\S]*?)<\/title>/i,
    (_m, t: string) => `\n# ${t.replace(/\s+/g, ' ').trim()}\n`,
  );
  text = text.replace(
    /<h([1-6])\b[^>]*>([\s\S]*?)<\/h\1>/gi,
    (_m, level: string, inner: string) =>
      `\n\n${'#'.repeat(Number(level))} ${inner
        .replace(/<[^>]+>/g, '')
        .replace(/¶/g, '')
        .replace(/\s+/g, ' ')
        .trim()}\n\n`,
  );
  text = text.replace(
    /<pre\b[^>]*>([\s\S]*?)<\/pre>/gi,
    (_m, inner: string) => `\n\n\`\`\`\n${inner.replace(/<[^>]+>/g, '')}\n\`\`\`\n\n`,
  );
  text = text.replace(/<table\b[^>]*>([\s\S]*?)<\/table>/gi, (_m, inner: string) => `\n\n${tableMarkdown(inner)}\n\n`);
  text = text
    .replace(/<li\b[^>]*>/gi, '\n- ')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|section|article|main|ul|ol|blockquote|dd|dt|dl)>/gi, '\n\n')
    .replace(/<(p|div|section|article|main|dt|dl)\b[^>]*>/gi, '\n\n')
    .replace(/<[^>]+>/g, '');
  text = decodeEntities(text);
  // A title repeated as the first <h1> would give every chunk the same heading twice.
  const lines = text.split('\n').map((l) => l.replace(/[ \t]+/g, ' ').trimEnd());
  const firstH1 = lines.findIndex((l) => l.startsWith('# '));
  const secondH1 = lines.findIndex((l, i) => i > firstH1 && l.startsWith('# '));
  if (firstH1 >= 0 && secondH1 > firstH1 && lines[secondH1] === lines[firstH1]) lines.splice(secondH1, 1);
  return lines.join('\n').replace(/\n{3,}/g, '\n\n');
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, code: string) => {
    if (code.startsWith('#x') || code.startsWith('#X')) return String.fromCodePoint(parseInt(code.slice(2), 16));
    if (code.startsWith('#')) return String.fromCodePoint(Number(code.slice(1)));
    return ENTITIES[code.toLowerCase()] ?? m;
  });
}

/** The page's main content element, when it marks one; otherwise the whole page. */
function mainContent(html: string): string {
  for (const open of [/<main\b[^>]*>/i, /<div\b[^>]*\brole\s*=\s*["']main["'][^>]*>/i, /<article\b[^>]*>/i]) {
    const m = open.exec(html);
    if (!m) continue;
    const tag = /^<(\w+)/.exec(m[0])![1]!.toLowerCase();
    const inner = balancedInner(html, m.index + m[0].length, tag);
    if (inner.trim()) return inner;
  }
  return html;
}

/** The content of an element opened just before `from`, up to its matching close tag. */
function balancedInner(html: string, from: number, tag: string): string {
  const tags = new RegExp(`<(/?)${tag}\\b[^>]*>`, 'gi');
  tags.lastIndex = from;
  let depth = 1;
  for (let m = tags.exec(html); m; m = tags.exec(html)) {
    depth += m[1] ? -1 : 1;
    if (depth === 0) return html.slice(from, m.index);
  }
  return html.slice(from);
}

/** A `<table>` as a Markdown pipe table: the first row is the header (its `<th>` cells, or its cells). */
function tableMarkdown(inner: string): string {
  const rows = [...inner.matchAll(/<tr\b[^>]*>([\s\S]*?)(?=<tr\b|<\/tbody>|<\/thead>|<\/tfoot>|$)/gi)]
    .map((m) =>
      [...m[1]!.matchAll(/<t([hd])\b[^>]*>([\s\S]*?)(?=<t[hd]\b|<\/tr>|$)/gi)].map((c) =>
        decodeEntities(
          c[2]!
            .replace(/<\/t[hd]>[\s\S]*$/i, '')
            .replace(/<br\s*\/?>/gi, ' ')
            .replace(/<[^>]+>/g, ' '),
        )
          .replace(/\s+/g, ' ')
          .replace(/\|/g, '\\|')
          .trim(),
      ),
    )
    .filter((r) => r.length > 0);
  if (rows.length === 0) return '';
  const width = Math.max(...rows.map((r) => r.length));
  const pad = (r: string[]) => [...r, ...Array.from({ length: width - r.length }, () => '')];
  const [header, ...body] = rows;
  if (width < 2) return rows.map((r) => r.join(' ')).join('\n');
  return [
    `| ${pad(header!).join(' | ')} |`,
    `|${Array.from({ length: width }, () => '---').join('|')}|`,
    ...body.map((r) => `| ${pad(r).join(' | ')} |`),
  ].join('\n');
}

/** Files that are never documentation pages. */
const ASSET =
  /\.(?:png|jpe?g|gif|svg|ico|webp|css|js|mjs|map|json|xml|pdf|zip|gz|tgz|tar|bz2|xz|whl|egg|mp4|webm|woff2?|ttf|eot|txt\.gz)$/i;

/**
 * The links of a page to follow: `<a href>` (against `<base href>` when the page sets one) or
 * Markdown `[text](url)`, absolute, without fragments, http(s) only, no assets.
 */
export function extractLinks(body: string, pageUrl: string, format: 'html' | 'markdown' | 'text'): string[] {
  const base = format === 'html' ? (/<base\b[^>]*\bhref\s*=\s*["']([^"']+)["']/i.exec(body)?.[1] ?? pageUrl) : pageUrl;
  const hrefs =
    format === 'html'
      ? [...body.matchAll(/<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)].map((m) =>
          decodeEntities(m[1] ?? m[2] ?? m[3] ?? ''),
        )
      : format === 'markdown'
        ? [...body.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!)
        : [];
  const out = new Set<string>();
  for (const href of hrefs) {
    if (!href || /^(?:mailto|javascript|tel|data):/i.test(href)) continue;
    let url: URL;
    try {
      url = new URL(href, new URL(base, pageUrl));
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    url.hash = '';
    if (ASSET.test(url.pathname)) continue;
    out.add(url.href);
  }
  return [...out];
}
