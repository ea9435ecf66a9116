import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Runs the measurement scripts in tools/ with the repo's TypeScript setup; not part of `npm test`.
export default defineConfig({
  test: {
    globals: true,
    setupFiles: ['reflect-metadata'],
    include: ['tools/**/*-cost.ts', 'tools/**/*-record.ts'],
    alias: [
      {
        find: /^@steady\/([^/]+)$/,
        replacement: fileURLToPath(new URL('../libs/$1/src', import.meta.url)),
      },
    ],
    testTimeout: 600_000,
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
