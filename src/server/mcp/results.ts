import type { Answer, ErrorKind } from '../../core/answer.ts';
import type { ToolOutput } from './tool.ts';

/** Most characters of a tool's text; a longer answer is cut with a note (the structured part stays). */
export const MAX_TOOL_TEXT_CHARS = 24_000;
/** Evidence kept per log source and per line in tool results. */
const MAX_EVIDENCE_LINES = 60;
const MAX_LINE_CHARS = 500;

/** A failure the caller can act on, as a tool error with the sentence a chat user would see. */
export function failure(kind: ErrorKind, message: string): ToolOutput {
  return { text: message, structured: { error: { kind, message } }, error: { kind, message } };
}

/** An Answer as a tool result: its markdown, and the Answer itself (evidence cut to size). */
export function fromAnswer(answer: Answer): ToolOutput {
  if (answer.error)
    return { ...failure(answer.error.kind, answer.error.message), structured: { ...boundAnswer(answer) } };
  return { text: answer.text, structured: { ...boundAnswer(answer) } };
}

/** The text cut at MAX_TOOL_TEXT_CHARS, saying so. */
export function bounded(output: ToolOutput): ToolOutput {
  if (output.text.length <= MAX_TOOL_TEXT_CHARS) return output;
  const note = `(cut at ${MAX_TOOL_TEXT_CHARS.toLocaleString('en-US')} characters; the structured result has the rest)`;
  return { ...output, text: `${output.text.slice(0, MAX_TOOL_TEXT_CHARS)}\n\n… ${note}` };
}

function boundAnswer(answer: Answer): Answer {
  return { ...answer, evidence: answer.evidence.map((e) => ({ source: e.source, lines: boundLines(e.lines) })) };
}

function boundLines(lines: readonly string[]): string[] {
  const kept = lines
    .slice(-MAX_EVIDENCE_LINES)
    .map((l) => (l.length > MAX_LINE_CHARS ? `${l.slice(0, MAX_LINE_CHARS)}…` : l));
  return lines.length > MAX_EVIDENCE_LINES
    ? [`… ${lines.length - MAX_EVIDENCE_LINES} earlier lines left out`, ...kept]
    : kept;
}
