/** Why a request failed. @publicApi */
export type HttpClientErrorKind = 'network' | 'timeout' | 'aborted' | 'status';

/**
 * A failed outbound request: names the method, URL and cause (`ECONNREFUSED`, a timeout, an abort, or — from
 * `json()` only — a non-2xx status).
 *
 * @publicApi
 */
export class HttpClientError extends Error {
  override readonly name = 'HttpClientError';

  constructor(
    readonly kind: HttpClientErrorKind,
    readonly method: string,
    readonly url: string,
    message: string,
    options?: { cause?: unknown; code?: string; status?: number },
  ) {
    super(`${method} ${url} failed: ${message}`, { cause: options?.cause });
    this.code = options?.code;
    this.status = options?.status;
  }

  /** System or undici error code of the cause, e.g. `ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`. */
  readonly code?: string;
  /** HTTP status, for `kind: 'status'`. */
  readonly status?: number;
}
