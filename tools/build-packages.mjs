#!/usr/bin/env node
// `npm run build`: compiles every library (libs/<name>/src) with tsconfig.build.json and lays each one out as its
// own npm package in dist/packages/<name>: dist/ (CommonJS .js + .d.ts + maps), package.json named
// `@steady/<name>` (peer dependencies on @nestjs/*, reflect-metadata and rxjs; real dependencies only for what its
// compiled code requires, other @steady packages at this version), README.md (docs/<name>.md) and LICENSE.
// `npm pack dist/packages/<name>` then gives the tarball.
import { execFileSync } from 'node:child_process';
import { builtinModules, createRequire } from 'node:module';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist/packages');
const tscOut = join(out, '.tsc');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const ranges = { ...rootPkg.devDependencies, ...rootPkg.dependencies };
const PEERS = (name) =>
  name.startsWith('@nestjs/') || name === 'reflect-metadata' || name === 'rxjs';
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const requireFromRoot = createRequire(join(root, 'package.json'));

const started = Date.now();
rmSync(out, { recursive: true, force: true });
const libs = readdirSync(join(root, 'libs')).filter((n) =>
  existsSync(join(root, 'libs', n, 'src/index.ts')),
);
console.log(
  `build: compiling ${libs.length} libraries (${libs.join(', ')}) with tsconfig.build.json`,
);
try {
  execFileSync(
    process.execPath,
    [requireFromRoot.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
    {
      stdio: 'inherit',
      cwd: root,
    },
  );
} catch {
  console.error('build: tsc failed (see the errors above)');
  process.exit(1);
}

function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

function packageOf(specifier) {
  if (
    specifier.startsWith('.') ||
    specifier.startsWith('/') ||
    builtins.has(specifier) ||
    specifier.startsWith('node:')
  )
    return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function rangeOf(name) {
  if (ranges[name]) return ranges[name];
  try {
    return `^${JSON.parse(readFileSync(requireFromRoot.resolve(`${name}/package.json`), 'utf8')).version}`;
  } catch {
    throw new Error(`build: cannot find a version range for "${name}" (add it to package.json)`);
  }
}

const summary = [];
for (const lib of libs) {
  const compiled = join(tscOut, lib, 'src');
  if (!existsSync(join(compiled, 'index.js')))
    throw new Error(`build: ${lib} compiled to nothing (${compiled})`);
  const pkgDir = join(out, lib);
  mkdirSync(pkgDir, { recursive: true });
  cpSync(compiled, join(pkgDir, 'dist'), { recursive: true });
  const used = new Set();
  for (const f of files(join(pkgDir, 'dist')).filter((f) => f.endsWith('.js'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
      const name = packageOf(m[1]);
      if (name) used.add(name);
    }
  }
  const steadyVersion = rootPkg.version;
  const dependencies = {};
  const peerDependencies = {};
  for (const name of [...used].sort()) {
    if (name === `@steady/${lib}`) continue;
    if (name.startsWith('@steady/')) dependencies[name] = steadyVersion;
    else if (PEERS(name)) peerDependencies[name] = rangeOf(name);
    else dependencies[name] = rangeOf(name);
  }
  const docs = join(root, 'docs', `${lib}.md`);
  const pkg = {
    name: `@steady/${lib}`,
    version: steadyVersion,
    description: `${rootPkg.description} — ${lib}`,
    license: rootPkg.license,
    main: 'dist/index.js',
    types: 'dist/index.d.ts',
    files: ['dist', 'README.md'],
    engines: rootPkg.engines,
    ...(Object.keys(dependencies).length ? { dependencies } : {}),
    peerDependencies,
  };
  writeFileSync(join(pkgDir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  writeFileSync(
    join(pkgDir, 'README.md'),
    existsSync(docs)
      ? readFileSync(docs, 'utf8')
      : `# @steady/${lib}\n\nPart of Steady: see the repository README.\n`,
  );
  summary.push(
    `  @steady/${lib}: deps [${Object.keys(dependencies).join(', ')}], peers [${Object.keys(peerDependencies).join(', ')}]`,
  );
}
rmSync(tscOut, { recursive: true, force: true });
console.log(summary.join('\n'));
console.log(
  `build: ${libs.length} packages in dist/packages in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
