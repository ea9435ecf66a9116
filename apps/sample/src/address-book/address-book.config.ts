import { OptionValidator } from '@steady/core';

/** The address-book downstream of the sample, read from the environment (docs/http-client.md, "In the sample"). */
export interface AddressBookConfig {
  /** Base URL of the address-book service; `ADDRESS_BOOK_URL`. Unset: an in-process stand-in on a loopback port. */
  url: string | undefined;
  /** Shared Redis cache for the client; `REDIS_URL` (e.g. `redis://127.0.0.1:6379`). Unset: in-memory LRU. */
  redisUrl: string | undefined;
  /** The stand-in's response time; `ADDRESS_BOOK_LATENCY_MS`, default 20. */
  latencyMs: number;
  /** The stand-in's `Cache-Control: max-age`; `ADDRESS_BOOK_MAX_AGE_S`, default 30. */
  maxAgeSeconds: number;
}

export function loadAddressBookConfig(env: NodeJS.ProcessEnv = process.env): AddressBookConfig {
  const v = new OptionValidator('apps/sample');
  const empty = (s: string | undefined) => (s === undefined || s === '' ? undefined : s);
  const num = (s: string | undefined) => (empty(s) === undefined ? undefined : Number(s));
  const url = empty(env.ADDRESS_BOOK_URL);
  if (url !== undefined)
    v.check(
      /^https?:\/\//.test(url) && URL.canParse(url),
      'ADDRESS_BOOK_URL',
      'an http(s) URL',
      url,
    );
  const redisUrl = empty(env.REDIS_URL);
  if (redisUrl !== undefined)
    v.check(/^rediss?:\/\//.test(redisUrl), 'REDIS_URL', 'a redis:// URL', redisUrl);
  return {
    url,
    redisUrl,
    latencyMs: v.number('ADDRESS_BOOK_LATENCY_MS', num(env.ADDRESS_BOOK_LATENCY_MS), 20, {
      min: 0,
      max: 60_000,
      integer: true,
      unit: 'ms',
    }),
    maxAgeSeconds: v.number('ADDRESS_BOOK_MAX_AGE_S', num(env.ADDRESS_BOOK_MAX_AGE_S), 30, {
      min: 0,
      max: 86_400,
      integer: true,
      unit: 's',
    }),
  };
}
