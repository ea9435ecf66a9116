/**
 * bench:http-client runs the library from the bench build (dist/bench), where tsconfig `paths` are not applied:
 * map `@steady/<lib>` to the compiled `libs/<lib>/src` next to it. Imported first by http-client.bench.ts.
 */
import Module from 'node:module';
import * as path from 'node:path';

const mod = Module as unknown as {
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
};
const original = mod._resolveFilename;
mod._resolveFilename = function (
  request: string,
  parent: unknown,
  isMain: boolean,
  options?: unknown,
) {
  const m = /^@steady\/([^/]+)$/.exec(request);
  const mapped = m ? path.join(__dirname, '..', 'libs', m[1], 'src') : request;
  return original.call(this, mapped, parent, isMain, options);
};
