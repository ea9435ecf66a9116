/**
 * The "done when", in-process: the sample mail service with every module wired, a slow spam scanner (the
 * induced downstream slowdown), real POST /mails load, and /ops/explain telling the story with the right cause and
 * advice — JSON on both adapters, and the page a browser gets.
 */
import { Agent } from 'node:http';
import { AppModule } from '../apps/sample/src/app.module';
import { sampleConfig } from '../apps/sample/src/sample.config';
import { httpRequest } from './support/keep-alive-load';
import { ADAPTERS, createTestApp, type TestApp } from './support/nest-app';

interface Finding {
  rule: string;
  status: string;
  title: string;
  text: string;
  advice?: string;
}

const MAIL = JSON.stringify({
  from: 'alice@example.com',
  to: ['bob@example.com'],
  subject: 'hi',
  body: 'hello',
});

describe.each(ADAPTERS)(
  'sample: /ops/explain during the slow-downstream incident (%s)',
  (adapter) => {
    let t: TestApp | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
    });

    it('names the slow spam scanner and its full pool, says shedding is handling the excess and not to scale up', async () => {
      const config = sampleConfig({
        spamScanner: { latencyMs: 1500, poolSize: 4 },
        // the test client shares the server's event loop: shed on in-flight only (as the other sample suites do)
        shedding: { maxInFlight: 20, eventLoop: false },
        explain: { recentMs: 3000, snapshotIntervalMs: 250 },
      });
      t = await createTestApp(adapter, AppModule.forRoot(config), {
        bodyLimit: config.maxBodyBytes,
      });
      const url = `${t.url}/mails`;
      const stopAt = performance.now() + 5500;
      const clients = Array.from({ length: 24 }, async () => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        try {
          while (performance.now() < stopAt) {
            const r = await httpRequest(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: MAIL,
              agent,
              timeoutMs: 15_000,
            }).catch(() => ({ status: 0 }));
            if (r.status !== 201) await new Promise((res) => setTimeout(res, 250));
          }
        } finally {
          agent.destroy();
        }
      });
      await new Promise((r) => setTimeout(r, 5000));
      const res = await httpRequest(`${t.url}/ops/explain`, {
        headers: { accept: 'application/json' },
      });
      const page = await httpRequest(`${t.url}/ops/explain`, { headers: { accept: 'text/html' } });
      await Promise.all(clients);

      expect(res.status).toBe(200);
      const report = JSON.parse(res.body) as {
        headline: string;
        findings: Finding[];
        modules: object;
        advisor: Finding;
      };
      const f = Object.fromEntries(report.findings.map((x) => [x.rule, x]));
      const all = report.findings.map((x) => `${x.rule} ${x.status}: ${x.text}`).join('\n');
      expect(f['slow-downstream']!.status, all).toBe('firing');
      expect(f['slow-downstream']!.title).toBe('Saturated: the spam scanner is slow');
      expect(f['slow-downstream']!.text).toMatch(
        /The spam scanner takes [\d.]+ s per call on average/,
      );
      expect(f['slow-downstream']!.text).toContain('POST /mails');
      expect(f['pool-saturation']!.status, all).toBe('firing');
      expect(f['pool-saturation']!.text).toMatch(/4 of 4 slots busy/);
      expect(f['shedding']!.status, all).toBe('firing');
      expect(report.headline).toMatch(/^Saturated: the spam scanner is slow\./);
      expect(report.advisor.title).not.toBe('Scale up');
      // every module of the suite is wired in the sample
      expect(report.modules).toMatchObject({
        core: true,
        metrics: true,
        'load-shedding': true,
        health: true,
        etag: true,
        'ws-backpressure': true,
        'http-client': true,
        'oom-guard': true,
      });
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('Saturated: the spam scanner is slow');
    });
  },
);
