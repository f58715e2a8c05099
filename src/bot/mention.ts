/**
 * Removes the bot's mention in the forms platforms deliver it: Slack `<@U123ABC>` (optionally with
 * `|name`), Mattermost and plain text `@askpanda`, with trailing punctuation such as `@askpanda:`.
 */
export function stripMention(text: string, botName: string, botUserIds: readonly string[] = []): string {
  let out = text.replace(/<@([A-Z0-9]+)(\|[^>]*)?>[:,]?/g, (whole, id: string) =>
    botUserIds.length === 0 || botUserIds.includes(id) ? ' ' : whole,
  );
  const name = botName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  out = out.replace(new RegExp(`(^|\\s)@${name}\\b[:,]?`, 'gi'), ' ');
  return out.replace(/\s+/g, ' ').trim();
}
