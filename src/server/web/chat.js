// askpanda web chat: one conversation per browser tab. No framework and nothing loaded from
// elsewhere; answers stream in as JSON lines from POST /web/ask (status, partial, answer, error).
// Markdown is turned into DOM nodes (never innerHTML), and only http(s) links are made clickable.

const THREAD_KEY = 'askpanda.thread';
const TRANSCRIPT_KEY = 'askpanda.transcript';
const MAX_KEPT = 30;

const transcript = document.getElementById('transcript');
const form = document.getElementById('ask-form');
const input = document.getElementById('question');
const send = document.getElementById('send');
let busy = false;

function newThreadId() {
  // crypto.randomUUID exists only on https and localhost; getRandomValues everywhere.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function threadId() {
  let id = sessionStorage.getItem(THREAD_KEY);
  if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
    id = newThreadId();
    sessionStorage.setItem(THREAD_KEY, id);
  }
  return id;
}

function kept() {
  try {
    const list = JSON.parse(sessionStorage.getItem(TRANSCRIPT_KEY) ?? '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

function keep(entry) {
  const list = kept();
  list.push(entry);
  try {
    sessionStorage.setItem(TRANSCRIPT_KEY, JSON.stringify(list.slice(-MAX_KEPT)));
  } catch {
    // A full sessionStorage only loses the transcript on reload; the thread itself is kept by the server.
  }
}

// ---- markdown → DOM ------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

function link(text, url) {
  const href = safeUrl(url);
  if (!href) return document.createTextNode(text);
  return el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text);
}

const INLINE =
  /`([^`\n]+)`|\*\*(.+?)\*\*|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)|<(https?:\/\/[^\s>]+)>|(?<![\w*])[_*]([^_*\n]+)[_*](?![\w*])/g;

function inline(text, parent) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    if (match[1] !== undefined) parent.append(el('code', {}, match[1]));
    else if (match[2] !== undefined) inline(match[2], parent.appendChild(el('strong')));
    else if (match[3] !== undefined) parent.append(link(match[3], match[4]));
    else if (match[5] !== undefined) parent.append(link(match[5], match[5]));
    else inline(match[6], parent.appendChild(el('em')));
    last = match.index + match[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

function markdown(text) {
  const out = document.createDocumentFragment();
  const lines = String(text ?? '').split('\n');
  let paragraph = [];
  let list = null;
  const endParagraph = () => {
    if (!paragraph.length) return;
    const p = el('p');
    paragraph.forEach((line, i) => {
      if (i) p.append(el('br'));
      inline(line, p);
    });
    out.append(p);
    paragraph = [];
  };
  const endList = () => {
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      endParagraph();
      endList();
      const body = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith(fence[1]); i++) body.push(lines[i]);
      out.append(el('pre', {}, el('code', {}, body.join('\n'))));
      continue;
    }
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (bullet || numbered) {
      endParagraph();
      const tag = bullet ? 'ul' : 'ol';
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = el(tag);
        out.append(list);
      }
      const item = el('li');
      inline((bullet ?? numbered)[1], item);
      list.append(item);
      continue;
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      endParagraph();
      endList();
      const h = el('h3');
      inline(heading[1], h);
      out.append(h);
      continue;
    }
    if (line.trim() === '') {
      endParagraph();
      endList();
      continue;
    }
    endList();
    paragraph.push(line);
  }
  endParagraph();
  return out;
}

// ---- rendering answers -----------------------------------------------------------------------

function block(title, ...content) {
  return el('div', { class: 'block' }, el('h2', {}, title), ...content);
}

function renderAnswer(target, answer, summary) {
  target.replaceChildren();
  const box = el('div', { class: `answer${answer.error ? ' error' : ''}`, 'data-agent': answer.agent });
  box.append(el('div', { class: 'summary' }, markdown(summary || answer.text)));
  for (const section of answer.sections ?? []) {
    if (section.body?.trim())
      box.append(el('div', { class: 'block section' }, el('h2', {}, section.title), markdown(section.body)));
  }
  for (const evidence of answer.evidence ?? []) {
    if (!evidence.lines?.length) continue;
    const details = el(
      'details',
      { class: 'block evidence' },
      el(
        'summary',
        {},
        `Evidence from ${evidence.source} (${evidence.lines.length} line${evidence.lines.length === 1 ? '' : 's'})`,
      ),
      el('pre', {}, el('code', {}, evidence.lines.join('\n'))),
    );
    box.append(details);
  }
  if (answer.links?.length) {
    const links = el('div', { class: 'links' });
    for (const l of answer.links) links.append(link(l.title, l.url), ' ');
    box.append(block('Monitor', links));
  }
  if (answer.sources?.length) {
    const list = el('ol', { class: 'sources' });
    for (const s of answer.sources) list.append(el('li', {}, s.url ? link(s.title, s.url) : s.title));
    box.append(block('Sources', list));
  }
  if (answer.followUps?.length) {
    const buttons = el('div', { class: 'followups' });
    for (const f of answer.followUps) {
      const button = el('button', { type: 'button', class: 'followup', title: f.why }, f.question);
      button.addEventListener('click', () => ask(f.question));
      buttons.append(button);
    }
    box.append(block('You could ask next', buttons));
  }
  box.append(
    el(
      'div',
      { class: 'meta' },
      `${answer.model === 'offline' ? 'answered offline (no language model)' : `answered by ${answer.model}`} · ${answer.agent}`,
    ),
  );
  target.append(box);
}

function addMessage(kind) {
  const bubble = el('div', { class: 'bubble' });
  const message = el('article', { class: `message ${kind}` }, bubble);
  transcript.append(message);
  return bubble;
}

function scrollDown() {
  transcript.scrollTop = transcript.scrollHeight;
}

function showQuestion(text) {
  document.getElementById('welcome')?.remove();
  const bubble = addMessage('user');
  bubble.append(markdown(text));
}

function setBusy(value) {
  busy = value;
  send.disabled = value;
  for (const button of document.querySelectorAll('button.followup, #examples button')) button.disabled = value;
}

// ---- asking ----------------------------------------------------------------------------------

async function ask(question) {
  const text = question.trim();
  if (!text || busy) return;
  setBusy(true);
  showQuestion(text);
  const bubble = addMessage('assistant');
  const status = el('p', { class: 'status' }, 'askpanda is thinking…');
  const draft = el('div', { class: 'draft' });
  bubble.append(draft, status);
  scrollDown();
  try {
    const response = await fetch('/web/ask', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ question: text, thread: threadId() }),
    });
    if (!response.ok || !response.body) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error ?? `the server answered HTTP ${response.status}`);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    let finished = false;
    for (;;) {
      const { value, done } = await reader.read();
      buffered += decoder.decode(value ?? new Uint8Array(), { stream: !done });
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        const event = JSON.parse(line);
        if (event.type === 'status') status.textContent = event.text;
        else if (event.type === 'partial') draft.replaceChildren(markdown(event.markdown));
        else if (event.type === 'answer') {
          finished = true;
          renderAnswer(bubble, event.answer, event.summary);
          keep({ question: text, answer: event.answer, summary: event.summary });
        } else if (event.type === 'error') throw new Error(event.message);
        scrollDown();
      }
      if (done) break;
    }
    if (!finished) throw new Error('the answer was cut off; please ask again');
  } catch (err) {
    bubble.replaceChildren(
      el('p', { class: 'status error' }, `Sorry: ${err instanceof Error ? err.message : String(err)}`),
    );
  } finally {
    setBusy(false);
    scrollDown();
    input.focus();
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = input.value;
  input.value = '';
  void ask(text);
});
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});
document.getElementById('new-chat').addEventListener('click', () => {
  sessionStorage.setItem(THREAD_KEY, newThreadId());
  sessionStorage.removeItem(TRANSCRIPT_KEY);
  location.reload();
});

async function start() {
  for (const entry of kept()) {
    showQuestion(entry.question);
    renderAnswer(addMessage('assistant'), entry.answer, entry.summary);
  }
  scrollDown();
  try {
    const info = await (await fetch('/web/info')).json();
    const demoNote = document.getElementById('demo-note');
    if (demoNote) demoNote.hidden = !info.demo;
    const examples = document.getElementById('examples');
    for (const question of info.examples ?? []) {
      const button = el('button', { type: 'button' }, question);
      button.addEventListener('click', () => ask(question));
      examples?.append(button);
    }
  } catch {
    // Without the examples the page still works.
  }
  input.focus();
}

void start();
