/**
 * A network error code in words a user can read ("the connection was reset"), for the messages
 * that say why a service did not answer. Codes not listed stay as they are (operators search them).
 */
const WORDS: Record<string, string> = {
  ECONNRESET: 'the connection was reset',
  ECONNREFUSED: 'the connection was refused',
  ECONNABORTED: 'the connection was aborted',
  EPIPE: 'the connection was closed while sending',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host cannot be reached',
  ENETUNREACH: 'the network cannot be reached',
  ENOTFOUND: 'the host name was not found',
  EAI_AGAIN: 'the host name could not be looked up',
  UND_ERR_SOCKET: 'the connection broke off',
  UND_ERR_CLOSED: 'the connection was closed',
  UND_ERR_CONNECT_TIMEOUT: 'connecting timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer headers in time',
  UND_ERR_BODY_TIMEOUT: 'the answer stopped arriving',
  ERR_STREAM_PREMATURE_CLOSE: 'the transfer ended early',
};

export function networkWords(code: string): string {
  return WORDS[code] ?? code;
}
