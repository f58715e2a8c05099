import { HttpFailure } from './errors.ts';

const UNTRUSTED = new RegExp(
  '^(?:UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT' +
    '|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|CERT_HAS_EXPIRED|ERR_TLS_CERT_ALTNAME_INVALID)$',
);
const CERTIFICATE_REFUSED_CODE = /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA/;
const CERTIFICATE_REFUSED_TEXT =
  /alert certificate required|alert handshake failure|alert bad certificate|alert unknown ca/i;

/** The code of a node network error, or of its cause (fetch wraps them). */
export function errorCode(err: unknown): string | undefined {
  const own = (err as { code?: unknown } | undefined)?.code;
  if (typeof own === 'string') return own;
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof cause === 'string' ? cause : undefined;
}

/**
 * A network error in a few words: its code (operators search for it), TLS failures said plainly
 * (OpenSSL's text is long and says nothing to a user).
 */
export function networkErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = errorCode(err);
  if (code && UNTRUSTED.test(code)) return `TLS: the server's certificate is not trusted here, ${code}`;
  if ((code && CERTIFICATE_REFUSED_CODE.test(code)) || CERTIFICATE_REFUSED_TEXT.test(err.message))
    return 'TLS: the server refused the connection without an accepted client certificate';
  if (code) return code;
  return err.message.split('\n')[0]!.slice(0, 200);
}

/** Any error of a request or its body as an HttpFailure (one it already is passes through). */
export function asNetworkFailure(err: unknown): HttpFailure {
  if (err instanceof HttpFailure) return err;
  const code = errorCode(err);
  return new HttpFailure('network', networkErrorText(err), { ...(code ? { code } : {}), cause: err });
}
