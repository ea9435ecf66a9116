/** DI token of the named client's resolved options. @publicApi */
export function getHttpClientOptionsToken(name = 'default'): string {
  return `STEADY:HTTP_CLIENT:OPTIONS:${name}`;
}

/** DI token of the named client (`@InjectHttpClient(name)`); the default client is also injectable as `HttpClient`. @publicApi */
export function getHttpClientToken(name = 'default'): string {
  return `STEADY:HTTP_CLIENT:${name}`;
}
