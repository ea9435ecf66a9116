import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Same mapping as tsconfig "paths": { "@steady/*": ["libs/*/src"] }.
const steadyAlias = {
  find: /^@steady\/([^/]+)$/,
  replacement: fileURLToPath(new URL('./libs/$1/src', import.meta.url)),
};

export default defineConfig({
  test: {
    globals: true,
    setupFiles: ['reflect-metadata'],
    alias: [steadyAlias],
    // Real servers (redis-server, haproxy, Nest apps on port 0) are started by the suites themselves.
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'bench/**/*.spec.ts'] },
      },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/**/*.e2e-spec.ts'] },
      },
    ],
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
