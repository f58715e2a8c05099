import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { byteSize, HttpFailure, seconds } from './errors.ts';
import type { Interrupt } from './exchange.ts';
import { asNetworkFailure } from './network-error.ts';

/** What a body may cost in time once its headers came. */
export interface BodyLimits {
  /** Undo a Content-Encoding of gzip, deflate or br (the caller asked for it with Accept-Encoding). */
  decompress?: boolean;
  /** No byte for this long fails the body as `stalled`. */
  idleMs?: number;
  /**
   * The body ends here as if it were complete, and `cutAfterMs` says so: a server (or proxy) that
   * trickles a byte now and then must not hold the answer, and what came is still worth reading.
   */
  cutAfterMs?: number;
}

/** What to do with a body larger than the cap: refuse it, or keep its first maxBytes. */
export type OverCap = 'fail' | 'truncate';

export interface ReadBody {
  bytes: Buffer;
  /** The body went on past the cap; `bytes` is its first maxBytes and the rest was never read. */
  truncated: boolean;
}

/**
 * An answer whose body has not been read yet. Its body can be iterated once (or read whole with a
 * cap); close() ends the transfer and frees the client's slot, and reaching the body's end does too.
 */
export class HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Declared by Content-Length (of the encoded body, when it is compressed), when it was. */
  readonly size?: number;
  /** Requests sent to get this answer, retries included. */
  attempts = 1;
  private cutAt?: number;
  private closed = false;
  /** How the body is encoded, when it is to be decoded. */
  private readonly encoding?: string;

  constructor(
    private readonly message: IncomingMessage,
    /** The URL that answered (after redirects). */
    readonly url: URL,
    private readonly interrupt: Interrupt,
    private readonly limits: BodyLimits,
    private readonly onBytes: (count: number) => void,
    private readonly finish: () => void,
  ) {
    this.status = message.statusCode ?? 0;
    this.headers = message.headers;
    const declared = Number(message.headers['content-length']);
    if (message.headers['content-length'] !== undefined && Number.isFinite(declared) && declared >= 0)
      this.size = declared;
    const encoding = this.header('content-encoding')?.trim().toLowerCase();
    if (limits.decompress && encoding && encoding !== 'identity') this.encoding = encoding;
  }

  header(name: string): string | undefined {
    const value = this.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  }

  /** Set once the body ended at `cutAfterMs` (the body is then only the part that came). */
  get cutAfterMs(): number | undefined {
    return this.cutAt;
  }

  get body(): AsyncIterable<Buffer> {
    return this.chunks();
  }

  /** The whole body up to `maxBytes`; reading stops at the cap. */
  async read(maxBytes: number, overCap: OverCap): Promise<ReadBody> {
    // A declared length says nothing certain about the decoded size.
    if (overCap === 'fail' && this.size !== undefined && this.size > maxBytes && !this.encoding) {
      this.close();
      throw new HttpFailure(
        'too_large',
        `the answer is ${byteSize(this.size)}, more than the ${byteSize(maxBytes)} I read`,
        { status: this.status },
      );
    }
    const parts: Buffer[] = [];
    let total = 0;
    for await (const chunk of this.chunks()) {
      if (total + chunk.length > maxBytes) {
        if (overCap === 'fail')
          throw new HttpFailure('too_large', `the answer is larger than the ${byteSize(maxBytes)} I read`, {
            status: this.status,
          });
        parts.push(chunk.subarray(0, maxBytes - total));
        return { bytes: Buffer.concat(parts, maxBytes), truncated: true };
      }
      parts.push(chunk);
      total += chunk.length;
    }
    return { bytes: Buffer.concat(parts, total), truncated: false };
  }

  close(): void {
    this.message.destroy();
    if (this.closed) return;
    this.closed = true;
    this.finish();
  }

  /** The body as it arrives, or decompressed; a failure of either part ends both. */
  private source(): Readable {
    const encoding = this.encoding;
    const decoder =
      encoding === 'gzip' || encoding === 'x-gzip'
        ? createGunzip()
        : encoding === 'deflate'
          ? createInflate()
          : encoding === 'br'
            ? createBrotliDecompress()
            : undefined;
    if (!decoder) return this.message;
    return pipeline(this.message, decoder, () => undefined);
  }

  private async *chunks(): AsyncGenerator<Buffer> {
    const { idleMs, cutAfterMs } = this.limits;
    const started = performance.now();
    // One timer re-armed per chunk: a body of GiBs does not cost a timer per chunk.
    const idle =
      idleMs === undefined
        ? undefined
        : setTimeout(() => this.interrupt.fire(new HttpFailure('stalled', `no data for ${seconds(idleMs)}`)), idleMs);
    const cut =
      cutAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            this.cutAt = Math.round(performance.now() - started);
            this.message.destroy();
          }, cutAfterMs);
    try {
      for await (const chunk of this.source()) {
        idle?.refresh();
        this.onBytes((chunk as Buffer).length);
        yield chunk as Buffer;
        if (this.cutAt !== undefined) return;
      }
    } catch (err) {
      if (this.cutAt !== undefined) return;
      throw this.interrupt.reason ?? asNetworkFailure(err);
    } finally {
      clearTimeout(idle);
      clearTimeout(cut);
      this.close();
    }
  }
}
