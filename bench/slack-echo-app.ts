/**
 * The benchmark's baseline (not a benchmark itself): the smallest Bolt app that answers a mention,
 * echoing it into the thread. Socket Mode, against SLACK_API_URL, like `askpanda serve`.
 */
import { App, LogLevel } from '@slack/bolt';

const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  appToken: process.env.SLACK_APP_TOKEN,
  socketMode: true,
  logLevel: LogLevel.ERROR,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});
app.event('app_mention', async ({ event, client }) => {
  await client.chat.postMessage({ channel: event.channel, thread_ts: event.thread_ts ?? event.ts, text: event.text });
});
await app.start();
process.stderr.write('echo app connected\n');
process.once('SIGTERM', () => void app.stop().then(() => process.exit(0)));
