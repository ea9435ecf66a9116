import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// `npm run test:conformance`: the cache-tests suite against @steady/http-client, one file per store (run in
// parallel, each in its own process). Same transform and aliases as the root config.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    globals: true,
    setupFiles: ['reflect-metadata'],
    include: ['test/conformance/**/*.conformance-spec.ts'],
    alias: [
      {
        find: /^@steady\/([^/]+)$/,
        replacement: fileURLToPath(new URL('../../libs/$1/src', import.meta.url)),
      },
    ],
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
  plugins: [
    swc.vite({
      module: { type: 'es6' },
      jsc: {
        target: 'es2022',
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        keepClassNames: true,
      },
    }),
  ],
});
