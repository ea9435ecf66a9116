/**
 * /ops/explain in a real headless Chromium (Debian package `chromium`, started and killed by the test), driven over
 * the DevTools protocol with the `ws` client already in the repo: page text (`document.body.innerText`) asserted
 * and a PNG screenshot taken during an induced downstream slowdown.
 */
import { Controller, Get, Inject, Injectable } from '@nestjs/common';
import { MetricsSink, SteadyCoreModule, type SteadyHistogram } from '@steady/core';
import { LoadSheddingModule } from '@steady/load-shedding';
import { ExplainModule, MetricsModule } from '@steady/metrics';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { httpRequest } from './support/keep-alive-load';
import { ADAPTERS, createTestApp, type TestApp } from './support/nest-app';
/**
 * A real headless Chromium (Debian package `chromium`) driven over the DevTools protocol with the `ws` client
 * already in the repo: open a page, read its text (`document.body.innerText`), take a PNG screenshot. Started and
 * killed by the test itself; loopback only.
 */

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

function chromiumPath(): string {
  const found = [process.env.CHROMIUM_PATH, ...CANDIDATES].find((p) => p && existsSync(p));
  if (!found) {
    throw new Error(
      'chromium not found (looked at $CHROMIUM_PATH and ' +
        CANDIDATES.join(', ') +
        '): apt-get update && apt-get install -y --no-install-recommends chromium',
    );
  }
  return found;
}

interface BrowserPage {
  /** Navigates and waits for the load event (bounded). */
  open(url: string, timeoutMs?: number): Promise<void>;
  /** `document.body.innerText` of the page. */
  text(): Promise<string>;
  /** Evaluates an expression in the page and returns its value. */
  evaluate<T>(expression: string): Promise<T>;
  /** PNG of the viewport. */
  screenshot(): Promise<Buffer>;
  close(): Promise<void>;
}

/** Starts headless Chromium on a loopback DevTools port and attaches to its first page. */
async function launchChromium(width = 1280, height = 1600): Promise<BrowserPage> {
  const profile = mkdtempSync(join(tmpdir(), 'steady-chromium-'));
  const child: ChildProcess = spawn(
    chromiumPath(),
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--no-default-browser-check',
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      `--window-size=${width},${height}`,
      'about:blank',
    ],
    // its own process group, so the renderer and helper processes are killed with it (they write into the profile)
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid!, 'SIGKILL'); // the whole group: Chromium and its helpers
      } catch {
        child.kill('SIGKILL');
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    // a helper that outlived the group kill for a moment may still be writing: ENOTEMPTY is retried
    rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  };
  try {
    const port = await devtoolsPort(profile, child, () => stderr);
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = targets.find((t) => t.type === 'page');
    if (!page) throw new Error('chromium opened no page');
    const ws = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    let id = 0;
    const pending = new Map<
      number,
      { resolve: (v: unknown) => void; reject: (e: Error) => void }
    >();
    const events = new Map<string, () => void>();
    ws.on('message', (data: WebSocket.RawData) => {
      const m = JSON.parse(data.toString()) as {
        id?: number;
        method?: string;
        result?: unknown;
        error?: { message: string };
      };
      if (m.id !== undefined) {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) p?.reject(new Error(m.error.message));
        else p?.resolve(m.result);
      } else if (m.method) events.get(m.method)?.();
    });
    const send = <T>(method: string, params: object = {}, timeoutMs = 10_000): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const n = ++id;
        const timer = setTimeout(() => {
          pending.delete(n);
          reject(new Error(`${method} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(n, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        ws.send(JSON.stringify({ id: n, method, params }));
      });
    await send('Page.enable');
    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = await send<{ result: { value: T }; exceptionDetails?: { text: string } }>(
        'Runtime.evaluate',
        { expression, returnByValue: true },
      );
      if (r.exceptionDetails) throw new Error(`page threw: ${r.exceptionDetails.text}`);
      return r.result.value;
    };
    return {
      async open(url, timeoutMs = 15_000) {
        const loaded = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`${url} did not load within ${timeoutMs} ms`)),
            timeoutMs,
          );
          events.set('Page.loadEventFired', () => {
            clearTimeout(timer);
            events.delete('Page.loadEventFired');
            resolve();
          });
        });
        const nav = await send<{ errorText?: string }>('Page.navigate', { url });
        if (nav.errorText) throw new Error(`navigation to ${url} failed: ${nav.errorText}`);
        await loaded;
      },
      text: () => evaluate<string>('document.body.innerText'),
      evaluate,
      async screenshot() {
        const r = await send<{ data: string }>('Page.captureScreenshot', { format: 'png' });
        return Buffer.from(r.data, 'base64');
      },
      async close() {
        ws.close();
        await kill();
      },
    };
  } catch (err) {
    await kill();
    throw new Error(`${(err as Error).message}\nchromium stderr (tail):\n${stderr}`);
  }
}

/** Chromium writes the port it picked to `<profile>/DevToolsActivePort`; wait for it (bounded). */
async function devtoolsPort(
  profile: string,
  child: ChildProcess,
  stderr: () => string,
): Promise<number> {
  const file = join(profile, 'DevToolsActivePort');
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`chromium exited with ${child.exitCode}`);
    if (existsSync(file)) {
      const port = Number(readFileSync(file, 'utf8').split('\n')[0]);
      if (port > 0) return port;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`chromium did not open its DevTools port within 20 s: ${stderr().slice(-500)}`);
}

/** Width and height of a PNG (from its IHDR chunk); throws if `png` is not a PNG. */
function pngSize(png: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (png.length < 24 || !png.subarray(0, 8).equals(signature)) throw new Error('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

// ------------------------------------------------------------------------------------------------ the test

const DOWNSTREAM_METRIC = 'steady_browser_downstream_seconds';

@Injectable()
class SlowDownstream {
  private readonly latency: SteadyHistogram;
  constructor(@Inject(MetricsSink) sink: MetricsSink) {
    this.latency = sink.histogram({
      name: 'browser_downstream_seconds',
      help: 'Latency of the address book downstream of the browser test',
      buckets: [0.01, 0.1, 0.5, 1, 2, 5],
    });
  }
  async call(ms: number): Promise<void> {
    const start = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    this.latency.observe(undefined, (performance.now() - start) / 1000);
  }
}

@Controller('lookup')
class LookupController {
  constructor(private readonly downstream: SlowDownstream) {}
  @Get()
  async lookup() {
    await this.downstream.call(1200);
    return { ok: true };
  }
}

describe.each(ADAPTERS)('/ops/explain in headless Chromium (%s)', (adapter) => {
  let t: TestApp | undefined;
  let page: BrowserPage | undefined;
  afterEach(async () => {
    await page?.close();
    await t?.close();
    page = undefined;
    t = undefined;
  });

  it('renders the incident in plain words: screenshot taken, page text asserted', async () => {
    t = await createTestApp(adapter, {
      imports: [
        SteadyCoreModule.forRoot({ sampleIntervalMs: 20 }),
        MetricsModule.forRoot({ defaultMetrics: false }),
        LoadSheddingModule.forRoot({ maxInFlight: 10, eventLoop: false }),
        ExplainModule.forRoot({
          snapshotIntervalMs: 200,
          windowMs: 30_000,
          downstreams: [{ name: 'address book', metric: DOWNSTREAM_METRIC }],
          thresholds: { recentMs: 2000, advisorMinWindowMs: 2000, eluLow: 0.7 },
        }),
      ],
      controllers: [LookupController],
      providers: [SlowDownstream],
    });
    page = await launchChromium();
    await page.open('about:blank'); // let the browser settle before the incident starts
    // the induced slowdown: 12 clients on a route that waits 1.2 s on the address book (limit 10, sheds at 9)
    const stopAt = performance.now() + 5000;
    const url = `${t.url}/lookup`;
    const clients = Array.from({ length: 12 }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (performance.now() < stopAt) {
          const r = await httpRequest(url, { agent, timeoutMs: 10_000 }).catch(() => ({
            status: 0,
          }));
          if (r.status === 429) await new Promise((res) => setTimeout(res, 250));
        }
      } finally {
        agent.destroy();
      }
    });
    await new Promise((r) => setTimeout(r, 4300));
    // a browser sends Accept: text/html first: the page, not JSON
    await page.open(`${t.url}/ops/explain`);
    const text = await page.text();
    const png = await page.screenshot();
    await Promise.all(clients);
    const shot = join(mkdtempSync(join(tmpdir(), 'steady-explain-')), `explain-${adapter}.png`);
    writeFileSync(shot, png);
    console.log(`screenshot: ${shot} (${png.length} bytes)`);

    const size = pngSize(png);
    expect(size.width).toBe(1280);
    expect(size.height).toBeGreaterThan(1000); // the window minus what headless keeps for itself
    expect(png.length).toBeGreaterThan(20_000); // a rendered page, not a blank one
    expect(text).toContain('Steady — what is going on');
    expect(text).toContain('Saturated: the address book is slow');
    expect(text).toMatch(/of 10 requests in flight on average/);
    expect(text).toMatch(/The address book takes 1\.\d+ s per call on average/);
    expect(text).toContain('What to do: This is not a capacity problem');
    // a few seconds of history (start-up included): the advisor calls it a spike or says not to scale; never "Scale up"
    expect(text).toMatch(/Spikes: shedding is handling them|Do not scale up for this/);
    expect(text).toContain('Shedding is active');
    expect(text).toMatch(/oom-guard: not present/);
    const title = await page.evaluate<string>('document.title');
    expect(title).toBe('Steady — explain');
    const firing = await page.evaluate<string[]>(
      `[...document.querySelectorAll('section.finding[data-status="firing"]')].map((s) => s.dataset.rule)`,
    );
    expect(firing).toEqual(expect.arrayContaining(['slow-downstream', 'shedding']));
  });
});
