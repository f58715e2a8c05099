import { splitMarkdown } from '../../bot/split-markdown.ts';

/**
 * Mattermost's dialect of the bot's markdown. Mattermost renders CommonMark with GFM tables itself,
 * so the text mostly passes through: section titles (`**Title**` lines) become `####` headings and
 * channel-wide mentions are defused. A post the server refused is tried again as plain text.
 */

const FENCE = /^\s*(`{3,}|~{3,})/;
const TITLE_LINE = /^\*\*([^*\n]+?)\*\*:?\s*$/;
const CHANNEL_WIDE = /(^|[^\w@])@(channel|all|here)\b/gi;

/**
 * The bot's markdown in Mattermost's dialect: `**Title**` lines become `#### Title`, and
 * `@channel`, `@all` and `@here` outside code get a zero-width space after the `@`, so quoting a
 * log or a question never notifies a whole channel. Code blocks and inline code are untouched.
 */
export function toMattermostMarkdown(markdown: string): string {
  const lines = (markdown.includes('\r') ? markdown.replace(/\r\n?/g, '\n') : markdown).split('\n');
  let fence: string | undefined;
  return lines
    .map((line) => {
      const marks = FENCE.exec(line)?.[1];
      if (fence) {
        if (marks && marks[0] === fence[0] && marks.length >= fence.length && line.trim() === marks) fence = undefined;
        return line;
      }
      if (marks) {
        fence = marks;
        return line;
      }
      const title = TITLE_LINE.exec(line);
      if (title) return `#### ${defuse(title[1]!)}`;
      return defuse(line);
    })
    .join('\n');
}

/** Channel-wide mentions outside inline code made inert. */
function defuse(line: string): string {
  if (!line.includes('@')) return line;
  return line
    .split(/(`[^`\n]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(CHANNEL_WIDE, '$1@\u200b$2')))
    .join('');
}

/**
 * The same text with as little markup as possible, for a post the server refused: links as
 * "title (url)", no emphasis marks, headings and code fences as plain lines.
 */
export function toPlainText(markdown: string): string {
  let fence: string | undefined;
  const out: string[] = [];
  for (const line of (markdown.includes('\r') ? markdown.replace(/\r\n?/g, '\n') : markdown).split('\n')) {
    const marks = FENCE.exec(line)?.[1];
    if (fence) {
      if (marks && marks[0] === fence[0] && line.trim() === marks) fence = undefined;
      else out.push(line);
      continue;
    }
    if (marks) {
      fence = marks;
      continue;
    }
    out.push(
      defuse(line)
        .replace(/^\s{0,3}#{1,6}\s+/, '')
        .replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (_m, title: string, url: string) =>
          title === url ? url : `${title} (${url})`,
        )
        .replace(/(\*\*|__)(?=\S)(.+?)\1/g, '$2')
        .replace(/(^|[^\w*])\*(?=\S)([^*\n]+?)\*(?![\w*])/g, '$1$2')
        .replace(/(^|[^\w])_(?=\S)([^_\n]+?)_(?!\w)/g, '$1$2')
        .replace(/`([^`\n]+)`/g, '$1'),
    );
  }
  return out.join('\n');
}

/** `toPlainText` in posts of at most `maxPostSize` code points. */
export function plainTextPosts(markdown: string, maxPostSize: number): string[] {
  const posts = splitMarkdown(toPlainText(markdown), maxPostSize);
  return posts.length ? posts : ['(empty answer)'];
}

/** Closes a code block left open, e.g. in a draft cut mid-answer. */
export function closeOpenFence(markdown: string): string {
  let open: string | undefined;
  for (const line of markdown.split('\n')) {
    const marks = FENCE.exec(line)?.[1];
    if (!marks) continue;
    if (!open) open = marks;
    else if (marks[0] === open[0] && marks.length >= open.length && line.trim() === marks) open = undefined;
  }
  return open ? `${markdown}\n${open}` : markdown;
}
