import type { ExplainFinding, ExplainReport } from './explain-report.interface';

const ESC: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ESC[c]!);

const COLOURS: Record<string, string> = {
  critical: '#b3261e',
  warning: '#b26a00',
  info: '#1f5fa8',
  ok: '#2e7d32',
};

function card(f: ExplainFinding): string {
  const colour = f.status === 'absent' ? '#777' : COLOURS[f.severity];
  const numbers = Object.entries(f.numbers)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`)
    .join('');
  return `<section class="finding ${esc(f.status)}" data-rule="${esc(f.rule)}" data-status="${esc(f.status)}" style="border-left-color:${colour}">
<h2><span class="badge" style="background:${colour}">${esc(f.status === 'firing' ? f.severity : f.status)}</span> ${esc(f.title)} <small>${esc(f.module)} · ${esc(f.rule)}</small></h2>
<p>${esc(f.text)}</p>${f.advice ? `<p class="advice"><strong>What to do:</strong> ${esc(f.advice)}</p>` : ''}
${numbers ? `<details><summary>numbers</summary><table>${numbers}</table></details>` : ''}
</section>`;
}

/** The explain report as a small self-contained HTML page (no scripts; refreshes itself every `refreshSeconds`). */
export function renderExplainHtml(report: ExplainReport, refreshSeconds = 5): string {
  const modules = Object.entries(report.modules)
    .map(
      ([m, on]) =>
        `<li class="${on ? 'on' : 'off'}">${esc(m)}: ${on ? 'present' : 'not present'}</li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${refreshSeconds > 0 ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : ''}
<title>Steady — explain</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.4rem;margin:0 0 .25rem}
.headline{font-size:1.1rem;background:#f4f4f4;padding:.75rem 1rem;border-radius:6px}
.finding{border-left:6px solid #777;padding:.25rem 1rem;margin:1rem 0;background:#fafafa}
.finding h2{font-size:1.05rem;margin:.5rem 0}
.finding small{color:#666;font-weight:normal}
.badge{color:#fff;border-radius:4px;padding:0 .4rem;font-size:.8rem;text-transform:uppercase}
.advice{color:#333}
.absent{opacity:.7}
table{border-collapse:collapse;font-size:.85rem}td{padding:.1rem .6rem;border-bottom:1px solid #eee}
ul.modules{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem}
ul.modules li{padding:.1rem .5rem;border-radius:4px;background:#e8f5e9}ul.modules li.off{background:#eee;color:#777}
</style></head>
<body>
<h1>Steady — what is going on</h1>
<p class="meta">At ${esc(report.at)} · window ${esc(report.window.seconds)} s (${esc(report.window.snapshots)} snapshots), recent ${esc(report.window.recentSeconds)} s · <a href="?format=json">JSON</a></p>
<p class="headline" id="headline">${esc(report.headline)}</p>
<h2>Scale-up advisor</h2>
${card(report.advisor)}
<h2>Findings</h2>
${report.findings
  .filter((f) => f.rule !== report.advisor.rule)
  .map(card)
  .join('\n')}
<h2>Modules</h2>
<ul class="modules">${modules}</ul>
</body></html>
`;
}
