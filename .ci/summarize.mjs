// Sums the results of every CI step into the closing line `N passed, N failed`.
//
//   node .ci/summarize.mjs [--vitest <report.json> <exit code>]... [--counts <file>]
//
// --vitest  a Vitest JSON report and the exit code of that run:
//           passed = numPassedTests; failed = numFailedTests
//             + 1 per spec file that failed without any test result (it did not even load)
//             + 1 if the run failed (exit code != 0 or success=false) without a failing test.
//           A missing or unreadable report counts as 0 passed, 1 failed.
// --counts  extra checks, one `label passed failed` per line (# comments allowed), e.g.
//           `typecheck 0 1` or `promtool 12 0`. A malformed line counts as 1 failed.
//
// Prints one breakdown line per source, then the closing line LAST. Exit code 0 when nothing
// failed, 1 otherwise.
import { readFileSync } from 'node:fs';

const rows = [];

function vitest(path, exitCode) {
  let report;
  try {
    report = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    rows.push({
      label: `vitest ${path}`,
      passed: 0,
      failed: 1,
      note: `no report (${err.code ?? err.message})`,
    });
    return;
  }
  const files = Array.isArray(report.testResults) ? report.testResults : [];
  const broken = files.filter(
    (f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0,
  ).length;
  const passed = Number(report.numPassedTests ?? 0);
  let failed = Number(report.numFailedTests ?? 0) + broken;
  let note = broken > 0 ? `${broken} spec file(s) failed to load` : '';
  if (failed === 0 && (exitCode !== 0 || report.success === false)) {
    failed = 1;
    note = `run failed (exit ${exitCode}) without a failing test`;
  }
  rows.push({ label: `vitest ${path}`, passed, failed, note });
}

function counts(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    rows.push({ label: `counts ${path}`, passed: 0, failed: 1, note: `unreadable (${err.code})` });
    return;
  }
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^(\S+)\s+(\d+)\s+(\d+)$/.exec(trimmed);
    if (match === null) {
      rows.push({ label: 'counts', passed: 0, failed: 1, note: `malformed line: ${trimmed}` });
    } else {
      rows.push({ label: match[1], passed: Number(match[2]), failed: Number(match[3]), note: '' });
    }
  }
}

const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--vitest' && i + 2 < args.length) {
    vitest(args[i + 1], Number(args[i + 2]));
    i += 2;
  } else if (args[i] === '--counts' && i + 1 < args.length) {
    counts(args[i + 1]);
    i += 1;
  } else {
    rows.push({ label: 'summarize', passed: 0, failed: 1, note: `bad argument ${args[i]}` });
  }
}
if (rows.length === 0) rows.push({ label: 'summarize', passed: 0, failed: 1, note: 'nothing ran' });

let passed = 0;
let failed = 0;
for (const row of rows) {
  passed += row.passed;
  failed += row.failed;
  console.log(
    `  ${row.label}: ${row.passed} passed, ${row.failed} failed${row.note ? ` (${row.note})` : ''}`,
  );
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
