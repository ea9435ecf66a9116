#!/usr/bin/env node
// Shape check of docs/grafana/steady.json and the metric names of docs/prometheus/alerts.yml, for CI.
//   node tools/check-dashboard.mjs            prints one line per check and "dashboard: N passed, N failed"
// Exit code 1 when a check fails. Checks: valid JSON with uid/title/schemaVersion, a datasource variable, unique
// integer panel ids, grid positions inside 24 columns without overlaps, every panel with typed targets whose
// expressions are non-empty and use the datasource variable, one row per Steady module, and every steady_* metric
// used by a panel or an alert documented in docs/metrics.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const file = (p) => readFileSync(root + p, 'utf8');
let passed = 0;
let failed = 0;
function check(ok, what, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${!ok && detail ? `: ${detail}` : ''}`);
}

function documentedMetrics() {
  const text = file('docs/metrics.md');
  const names = new Set();
  for (const line of text.split('\n')) {
    const tokens = [...line.matchAll(/`(steady_[a-z0-9_]+|_[a-z0-9_]+)(?:\{[^`]*\})?`/g)].map((m) => m[1]);
    let previous;
    for (const t of tokens) {
      if (t.startsWith('steady_')) {
        names.add(t);
        previous = t;
      } else if (previous) {
        // shorthand such as `steady_x_pool_in_use`, `_pool_size`: the suffix replaces a tail of the previous name
        const parts = previous.split('_');
        for (let i = 1; i < parts.length; i++) names.add(parts.slice(0, i).join('_') + t);
      }
    }
  }
  return names;
}

function metricsIn(expr) {
  return [...expr.matchAll(/\b(steady_[a-z0-9_]+)/g)].map((m) =>
    m[1].replace(/_(bucket|sum|count)$/, ''),
  );
}

const documented = documentedMetrics();
function checkDocumented(where, names) {
  const missing = [...new Set(names)].filter((n) => !documented.has(n));
  check(missing.length === 0, `${where}: every steady_* metric is documented in docs/metrics.md`, missing.join(', '));
}

// ------------------------------------------------------------------------------------------------ dashboard
let d;
try {
  d = JSON.parse(file('docs/grafana/steady.json'));
  check(true, 'docs/grafana/steady.json is valid JSON');
} catch (err) {
  check(false, 'docs/grafana/steady.json is valid JSON', err.message);
}
if (d) {
  check(typeof d.uid === 'string' && /^[a-zA-Z0-9_-]{1,40}$/.test(d.uid), 'uid is a Grafana uid (1-40 of [a-zA-Z0-9_-])', d.uid);
  check(typeof d.title === 'string' && d.title.length > 0, 'title is set');
  check(Number.isInteger(d.schemaVersion) && d.schemaVersion >= 30, 'schemaVersion is an integer >= 30', d.schemaVersion);
  const vars = d.templating?.list ?? [];
  check(vars.some((v) => v.type === 'datasource' && v.name === 'datasource' && v.query === 'prometheus'), 'templating has a prometheus "datasource" variable');
  const panels = Array.isArray(d.panels) ? d.panels : [];
  check(panels.length > 0, 'panels is a non-empty array');
  const ids = panels.map((p) => p.id);
  check(ids.every(Number.isInteger) && new Set(ids).size === ids.length, 'panel ids are unique integers');
  const badGrid = panels.filter((p) => {
    const g = p.gridPos ?? {};
    return ![g.x, g.y, g.w, g.h].every(Number.isInteger) || g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > 24;
  });
  check(badGrid.length === 0, 'every gridPos is inside 24 columns', badGrid.map((p) => p.title).join(', '));
  const overlaps = [];
  for (let i = 0; i < panels.length; i++)
    for (let j = i + 1; j < panels.length; j++) {
      const a = panels[i].gridPos, b = panels[j].gridPos;
      if (a && b && a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) overlaps.push(`${panels[i].title} / ${panels[j].title}`);
    }
  check(overlaps.length === 0, 'no two panels overlap', overlaps.join('; '));
  const TYPES = new Set(['row', 'timeseries', 'stat', 'gauge', 'table', 'bargauge', 'text', 'heatmap']);
  check(panels.every((p) => TYPES.has(p.type)), 'every panel has a known type', panels.filter((p) => !TYPES.has(p.type)).map((p) => p.type).join(', '));
  check(panels.every((p) => typeof p.title === 'string' && p.title.length > 0), 'every panel has a title');
  const graphs = panels.filter((p) => p.type !== 'row' && p.type !== 'text');
  const badTargets = graphs.filter(
    (p) =>
      !Array.isArray(p.targets) ||
      p.targets.length === 0 ||
      p.targets.some((t) => typeof t.expr !== 'string' || t.expr.trim() === '' || typeof t.refId !== 'string' || t.datasource?.uid !== '${datasource}'),
  );
  check(badTargets.length === 0, 'every panel has targets with refId, a PromQL expr and the ${datasource} variable', badTargets.map((p) => p.title).join(', '));
  const refIds = graphs.filter((p) => new Set((p.targets ?? []).map((t) => t.refId)).size !== (p.targets ?? []).length);
  check(refIds.length === 0, 'refIds are unique within each panel', refIds.map((p) => p.title).join(', '));
  const unbalanced = graphs.flatMap((p) => (p.targets ?? []).filter((t) => !balanced(t.expr)).map(() => p.title));
  check(unbalanced.length === 0, 'every expr has balanced (), {} and []', unbalanced.join(', '));
  const rows = panels.filter((p) => p.type === 'row').map((p) => p.title);
  for (const module of ['Core', 'HTTP server', 'Load shedding', 'Health', 'ETag', 'HTTP client', 'OOM guard', 'WebSocket', 'Sample app']) {
    check(rows.some((r) => r.startsWith(module)), `a row for ${module}`);
  }
  checkDocumented('dashboard', graphs.flatMap((p) => (p.targets ?? []).flatMap((t) => metricsIn(t.expr ?? ''))));
}

// Every panel expression parses as PromQL: Grafana's variables substituted, each expr checked by promtool as a
// recording rule (skipped with a failure when promtool is missing: CI installs it).
if (d) {
  const exprs = (d.panels ?? []).flatMap((p) => (p.targets ?? []).map((t) => t.expr)).filter(Boolean);
  const promql = exprs.map((e) =>
    e.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h').replaceAll('$job', '.*').replaceAll('$instance', '.*'),
  );
  const dir = mkdtempSync(join(tmpdir(), 'steady-dashboard-'));
  const file = join(dir, 'panels.rules.yml');
  const yaml =
    'groups:\n  - name: dashboard-panels\n    rules:\n' +
    promql.map((e, i) => `      - record: steady_dashboard_panel_${i}\n        expr: ${JSON.stringify(e)}\n`).join('');
  writeFileSync(file, yaml);
  try {
    execFileSync('promtool', ['check', 'rules', file], { stdio: 'pipe' });
    check(true, `every panel expression (${promql.length}) parses as PromQL (promtool)`);
  } catch (err) {
    const out = `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message;
    check(false, 'every panel expression parses as PromQL (promtool)', out.trim().slice(0, 2000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------ alerts
const alerts = file('docs/prometheus/alerts.yml');
const alertCount = (alerts.match(/^\s*- alert:/gm) ?? []).length;
check(alertCount > 0 && (alerts.match(/^\s+runbook: /gm) ?? []).length === alertCount, 'every alert has runbook text', `${alertCount} alerts`);
checkDocumented('alerts.yml', metricsIn(alerts.replace(/^\s*#.*$/gm, '')));

function balanced(s) {
  const stack = [];
  const pairs = { ')': '(', ']': '[', '}': '{' };
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    if (quoted) continue;
    if ('([{'.includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0 && !quoted;
}

console.log(`dashboard: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
