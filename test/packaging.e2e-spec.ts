/**
 * Packaging: `npm run build` lays every library out as its own package (dist/packages/<name>); this suite packs the
 * ones a typical app needs with `npm pack`, installs the tarballs into a scratch Nest app in a temp directory outside
 * the repository (Nest itself from the npm cache, `--prefer-offline`), type-checks the app against the packages'
 * .d.ts with TypeScript, boots it on Express and on Fastify, and drives a shed guard, an ETag route and the health
 * endpoint over HTTP. Every step fails with its command's output; nothing is skipped.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { httpRequest } from './support/keep-alive-load';

const ROOT = resolve(__dirname, '..');
const PACKAGES = ['core', 'metrics', 'load-shedding', 'etag', 'health'];
const NEST = [
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/platform-express',
  '@nestjs/platform-fastify',
  '@nestjs/terminus',
  'reflect-metadata',
  'rxjs',
  '@types/node',
  '@types/express',
];

function run(
  what: string,
  file: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
): Promise<string> {
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    execFile(
      file,
      args,
      {
        cwd,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, npm_config_update_notifier: 'false' },
      },
      (err, stdout, stderr) => {
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        if (err) {
          reject(
            new Error(
              `packaging step "${what}" failed after ${seconds} s: ${file} ${args.join(' ')} (in ${cwd})\n` +
                `${err.message}\n--- stdout (tail)\n${stdout.slice(-3000)}\n--- stderr (tail)\n${stderr.slice(-3000)}`,
            ),
          );
        } else {
          console.log(`packaging: ${what} in ${seconds} s`);
          resolvePromise(stdout);
        }
      },
    );
  });
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Booted {
  port: number;
  core: string;
  child: ChildProcess;
  output: () => string;
}

function boot(dir: string, adapter: string): Promise<Booted> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: dir,
      env: { ...process.env, ADAPTER: adapter },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`scratch app (${adapter}) did not start within 20 s:\n${out}\n${err}`));
    }, 20_000);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        const { port, core } = JSON.parse(line) as { port: number; core: string };
        resolvePromise({ port, core, child, output: () => out + err });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(`scratch app (${adapter}) exited with ${code} before listening:\n${out}\n${err}`),
      );
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolvePromise();
    });
    child.kill('SIGTERM');
  });
}

describe('packaging: npm run build, npm pack, install into a scratch Nest app, boot it', () => {
  let work: string;
  let app: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'steady-packaging-'));
    app = join(work, 'app');
    // the scratch app lives outside the repository: nothing resolves to libs/ or the repo's node_modules
    expect(app.startsWith(ROOT)).toBe(false);
    await run('npm run build', npm, ['run', 'build', '--silent'], ROOT, 150_000);
    for (const name of PACKAGES) {
      const pkg = JSON.parse(
        readFileSync(join(ROOT, 'dist/packages', name, 'package.json'), 'utf8'),
      );
      expect(pkg.name).toBe(`@steady/${name}`);
      expect(existsSync(join(ROOT, 'dist/packages', name, pkg.types))).toBe(true);
    }
    const tgz = join(work, 'tgz');
    mkdirSync(tgz);
    await run(
      'npm pack',
      npm,
      [
        'pack',
        ...PACKAGES.map((p) => join(ROOT, 'dist/packages', p)),
        '--pack-destination',
        tgz,
        '--silent',
      ],
      work,
      90_000,
    );
    const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const ranges = { ...rootPkg.devDependencies, ...rootPkg.dependencies } as Record<
      string,
      string
    >;
    cpSync(join(ROOT, 'test/packaging/scratch-app'), app, { recursive: true });
    const version = rootPkg.version as string;
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify(
        {
          name: 'steady-scratch-app',
          version: '1.0.0',
          private: true,
          dependencies: {
            ...Object.fromEntries(
              PACKAGES.map((p) => [
                `@steady/${p}`,
                `file:${join(tgz, `steady-${p}-${version}.tgz`)}`,
              ]),
            ),
            ...Object.fromEntries(NEST.map((n) => [n, ranges[n]!])),
          },
        },
        null,
        2,
      ),
    );
    await run(
      'npm install (tarballs + Nest from the npm cache)',
      npm,
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--loglevel=error',
      ],
      app,
      150_000,
    );
    await run(
      'tsc: the scratch app type-checks against the packages’ .d.ts',
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(app, 'tsconfig.json')],
      app,
      90_000,
    );
  }, 420_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('each package has its own folder, a package.json named @steady/<name>, .d.ts, peers on @nestjs/*', () => {
    for (const name of PACKAGES) {
      const dir = join(ROOT, 'dist/packages', name);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(pkg).toMatchObject({
        name: `@steady/${name}`,
        main: 'dist/index.js',
        types: 'dist/index.d.ts',
      });
      expect(existsSync(join(dir, 'dist/index.js'))).toBe(true);
      expect(readFileSync(join(dir, 'dist/index.d.ts'), 'utf8')).toMatch(/export /);
      expect(pkg.peerDependencies['@nestjs/common']).toBe('^12.5.1');
      for (const dep of Object.keys(pkg.dependencies ?? {}))
        expect(dep.startsWith('@nestjs/')).toBe(false);
      if (name !== 'core') expect(pkg.dependencies['@steady/core']).toBe(pkg.version);
    }
    const metrics = JSON.parse(
      readFileSync(join(ROOT, 'dist/packages/metrics/package.json'), 'utf8'),
    );
    expect(Object.keys(metrics.dependencies).sort()).toEqual(['@steady/core', 'prom-client']);
    const health = JSON.parse(
      readFileSync(join(ROOT, 'dist/packages/health/package.json'), 'utf8'),
    );
    expect(health.peerDependencies['@nestjs/terminus']).toBeDefined();
  });

  it.each(['express', 'fastify'])(
    'the scratch app boots on %s with a shed guard, an ETag route and the health endpoint',
    async (adapter) => {
      const booted = await boot(app, adapter);
      try {
        // the packages came from the tarballs, not from the repository
        expect(booted.core).toBe(join(app, 'node_modules/@steady/core/dist/index.js'));
        const base = `http://127.0.0.1:${booted.port}`;

        const ready = await httpRequest(`${base}/health/ready`);
        expect(ready.status, ready.body).toBe(200);
        expect(JSON.parse(ready.body).status).toBe('ok');
        expect((await httpRequest(`${base}/health/live`)).status).toBe(200);

        const first = await httpRequest(`${base}/items/1`);
        expect(first.status).toBe(200);
        const etag = first.headers.etag;
        expect(etag).toMatch(/^"/);
        const revalidated = await httpRequest(`${base}/items/1`, {
          headers: { 'if-none-match': String(etag) },
        });
        expect(revalidated.status).toBe(304);
        expect(revalidated.body).toBe('');

        // maxInFlight 4, sheds from 85 %: 10 concurrent slow requests, the excess gets 429 + Retry-After
        const results = await Promise.all(
          Array.from({ length: 10 }, () =>
            httpRequest(`${base}/slow?ms=800`, { timeoutMs: 10_000 }),
          ),
        );
        const shed = results.filter((r) => r.status === 429);
        expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(3);
        expect(shed.length).toBeGreaterThanOrEqual(1);
        expect(shed[0]!.headers['retry-after']).toMatch(/^\d+$/);

        const metrics = await httpRequest(`${base}/metrics`);
        expect(metrics.body).toMatch(
          /steady_shed_requests_total\{reason="in_flight",priority="normal"\} \d+/,
        );
        const explain = JSON.parse((await httpRequest(`${base}/ops/explain`)).body);
        expect(explain.modules).toMatchObject({
          core: true,
          'load-shedding': true,
          health: true,
          etag: true,
        });
        expect(explain.findings.find((f: { rule: string }) => f.rule === 'shedding').status).toBe(
          'firing',
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- scratch app output\n${booted.output()}`);
      } finally {
        await stop(booted.child);
      }
    },
  );
});
