/**
 * The benchmark's baseline (not a benchmark itself): the smallest bot on @mattermost/client that
 * answers a mention, echoing it into the thread. Websocket and REST against MATTERMOST_URL, like
 * `askpanda serve`.
 */
import WebSocket from 'ws';
import mm from '@mattermost/client';

const { Client4, WebSocketClient } = mm;
// Node 20 has no global WebSocket or CloseEvent (see DEPENDENCIES.md).
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
(globalThis as { CloseEvent?: unknown }).CloseEvent ??= class CloseEvent extends Event {};
// The client logs every connection step with console.log.
console.log = () => undefined;

const url = process.env.MATTERMOST_URL!;
const token = process.env.MATTERMOST_TOKEN!;
const client = new Client4();
client.setUrl(url);
client.setToken(token);
const me = await client.getMe();
const ws = new WebSocketClient();
ws.addMessageListener((frame) => {
  const message = frame as unknown as { event?: string; data: Record<string, unknown> };
  if (message.event !== 'posted') return;
  const mentions = typeof message.data.mentions === 'string' ? (JSON.parse(message.data.mentions) as string[]) : [];
  if (!mentions.includes(me.id)) return;
  const post = JSON.parse(String(message.data.post)) as {
    id: string;
    root_id: string;
    channel_id: string;
    message: string;
    user_id: string;
  };
  if (post.user_id === me.id) return;
  void client
    .createPost({ channel_id: post.channel_id, root_id: post.root_id || post.id, message: post.message } as never)
    .catch(() => undefined);
});
ws.addFirstConnectListener(() => process.stderr.write('echo bot connected\n'));
ws.initialize(`${url.replace(/^http/, 'ws')}/api/v4/websocket`, token);
process.once('SIGTERM', () => {
  ws.close();
  process.exit(0);
});
