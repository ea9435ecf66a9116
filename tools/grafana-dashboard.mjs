#!/usr/bin/env node
// Writes docs/grafana/steady.json: one Grafana dashboard covering every Steady module, one row per module.
// Regenerate after changing a panel: `node tools/grafana-dashboard.mjs`; CI checks the file with
// tools/check-dashboard.mjs (shape, unique ids, every metric documented in docs/metrics.md).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DS = { type: 'prometheus', uid: '${datasource}' };
const SEL = 'job=~"$job", instance=~"$instance"';
let nextId = 1;
let y = 0;
const panels = [];

function row(title) {
  panels.push({ type: 'row', id: nextId++, title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
  y += 1;
}

/** Adds a row of panels, each `w` wide (24 in total at most). */
function line(...specs) {
  let x = 0;
  const h = 8;
  for (const s of specs) {
    const w = s.w ?? Math.floor(24 / specs.length);
    panels.push(panel(s, { x, y, w, h }));
    x += w;
  }
  y += h;
}

function panel(s, gridPos) {
  const targets = s.targets.map(([expr, legendFormat], i) => ({
    datasource: DS,
    refId: String.fromCharCode(65 + i),
    expr,
    legendFormat,
  }));
  return {
    type: s.type ?? 'timeseries',
    id: nextId++,
    title: s.title,
    description: s.description,
    datasource: DS,
    gridPos,
    targets,
    fieldConfig: {
      defaults: {
        unit: s.unit ?? 'short',
        ...(s.min !== undefined ? { min: s.min } : {}),
        ...(s.max !== undefined ? { max: s.max } : {}),
        ...(s.thresholds
          ? {
              thresholds: {
                mode: 'absolute',
                steps: [{ color: 'green', value: null }, ...s.thresholds.map(([value, color]) => ({ value, color }))],
              },
            }
          : {}),
      },
      overrides: [],
    },
    options: s.type === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'] }, colorMode: 'background' } : { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
  };
}

row('Core — the one signal (in flight, event loop, CPU, heap)');
line(
  { title: 'Requests in flight', unit: 'short', description: 'The count shedding limits and the drain waits for; peak = highest in the last sample interval.', targets: [[`steady_in_flight_requests{${SEL}}`, '{{instance}} now'], [`steady_in_flight_peak_requests{${SEL}}`, '{{instance}} peak'], [`steady_shed_max_in_flight_requests{${SEL}}`, '{{instance}} maxInFlight']] },
  { title: 'Event-loop utilisation and CPU', unit: 'percentunit', min: 0, description: 'ELU high with CPU high: CPU-bound. ELU high with CPU low: starved. In flight high with ELU low: a slow downstream.', targets: [[`steady_event_loop_utilization_ratio{${SEL}}`, '{{instance}} ELU'], [`steady_cpu_utilization_ratio{${SEL}}`, '{{instance}} CPU (cores)']] },
  { title: 'Event-loop delay', unit: 's', description: 'p99 of a few ms is normal; above 100 ms the loop is blocked.', targets: [[`steady_event_loop_delay_seconds{${SEL}, stat="p99"}`, '{{instance}} p99'], [`steady_event_loop_delay_seconds{${SEL}, stat="max"}`, '{{instance}} max']] },
);
line(
  { title: 'Arrival and abort rate', unit: 'reqps', targets: [[`sum by (instance) (rate(steady_requests_started_total{${SEL}}[$__rate_interval]))`, '{{instance}} arrivals'], [`sum by (instance) (rate(steady_requests_aborted_total{${SEL}}[$__rate_interval]))`, '{{instance}} aborted']] },
  { title: 'Heap used / limit', unit: 'percentunit', min: 0, max: 1, thresholds: [[0.7, 'orange'], [0.85, 'red']], targets: [[`steady_heap_used_ratio{${SEL}}`, '{{instance}}']] },
  { title: 'Scale-up reading: 30 min average ELU', unit: 'percentunit', min: 0, max: 1, thresholds: [[0.7, 'red']], description: 'Scale up when the average, not a spike, stays above 70 % (alert SteadyScaleUp).', targets: [[`avg_over_time(steady_event_loop_utilization_ratio{${SEL}}[30m])`, '{{instance}}']] },
);

row('HTTP server — per-route latency and request size');
line(
  { title: 'Latency p90 by route', unit: 's', targets: [[`histogram_quantile(0.9, sum by (method, route, le) (rate(steady_http_server_request_duration_seconds_bucket{${SEL}}[$__rate_interval])))`, '{{method}} {{route}}']] },
  { title: 'Requests by route and status class', unit: 'reqps', targets: [[`sum by (method, route, status_class) (rate(steady_http_server_request_duration_seconds_count{${SEL}}[$__rate_interval]))`, '{{method}} {{route}} {{status_class}}']] },
  { title: 'Request body size: mean and share ≥ 1 MiB', unit: 'bytes', description: 'Many small mails vs a few large ones: the mean size and how many bodies are large.', targets: [[`sum(rate(steady_http_server_request_size_bytes_sum{${SEL}}[$__rate_interval])) / sum(rate(steady_http_server_request_size_bytes_count{${SEL}}[$__rate_interval]))`, 'mean size'], [`1 - sum(rate(steady_http_server_request_size_bytes_bucket{${SEL}, le="1048576"}[$__rate_interval])) / sum(rate(steady_http_server_request_size_bytes_count{${SEL}}[$__rate_interval]))`, 'share ≥ 1 MiB (ratio)']] },
);

row('Load shedding');
line(
  { title: 'Shed by reason', unit: 'reqps', targets: [[`sum by (reason) (rate(steady_shed_requests_total{${SEL}}[$__rate_interval]))`, '{{reason}}'], [`sum by (reason) (rate(steady_shed_would_shed_requests_total{${SEL}}[$__rate_interval]))`, 'would shed: {{reason}}']] },
  { title: 'Shed share of arrivals', unit: 'percentunit', min: 0, thresholds: [[0.05, 'orange']], targets: [[`sum(rate(steady_shed_requests_total{${SEL}}[$__rate_interval])) / (sum(rate(steady_shed_requests_total{${SEL}}[$__rate_interval])) + sum(rate(steady_shed_admitted_requests_total{${SEL}}[$__rate_interval])))`, 'shed share']] },
  { title: 'In flight / maxInFlight, admit ratio, signals', unit: 'percentunit', targets: [[`steady_shed_in_flight_utilization_ratio{${SEL}}`, '{{instance}} in flight / max'], [`steady_shed_admit_ratio{${SEL}}`, '{{instance}} admit {{priority}}'], [`steady_shed_signal_level_ratio{${SEL}}`, '{{instance}} {{signal}} level']] },
);

row('Health — drain');
line(
  { title: 'Drain state', type: 'stat', targets: [[`max by (instance, state) (steady_drain_state{${SEL}}) == 1`, '{{instance}} {{state}}']] },
  { title: 'Drain triggers', unit: 'short', targets: [[`sum by (source, result) (increase(steady_drain_triggers_total{${SEL}}[$__range]))`, '{{source}} {{result}}']] },
  { title: 'Drain phases and forced requests', unit: 's', targets: [[`steady_drain_duration_seconds{${SEL}}`, '{{instance}} {{phase}}'], [`increase(steady_drain_forced_requests_total{${SEL}}[$__rate_interval])`, '{{instance}} forced'], [`increase(steady_drain_refused_probes_total{${SEL}}[$__rate_interval])`, '{{instance}} refused probes']] },
);

row('ETag — conditional requests');
line(
  { title: '304 ratio of conditional requests', unit: 'percentunit', targets: [[`sum(rate(steady_etag_not_modified_responses_total{${SEL}}[$__rate_interval])) / sum(rate(steady_etag_conditional_requests_total{${SEL}}[$__rate_interval]))`, '304 ratio']] },
  { title: 'Bytes saved by 304', unit: 'Bps', targets: [[`sum by (kind) (rate(steady_etag_saved_bytes_total{${SEL}}[$__rate_interval]))`, '{{kind}}']] },
  { title: '412 / 428 / malformed', unit: 'reqps', targets: [[`sum(rate(steady_etag_precondition_failed_responses_total{${SEL}}[$__rate_interval]))`, '412'], [`sum(rate(steady_etag_precondition_required_responses_total{${SEL}}[$__rate_interval]))`, '428'], [`sum by (header) (rate(steady_etag_malformed_headers_total{${SEL}}[$__rate_interval]))`, 'malformed {{header}}']] },
);

row('HTTP client — downstream and cache');
line(
  { title: 'Cache hit ratio by client', unit: 'percentunit', min: 0, max: 1, targets: [[`sum by (client) (rate(steady_http_client_requests_total{${SEL}, cache=~"hit|stale"}[$__rate_interval])) / sum by (client) (rate(steady_http_client_requests_total{${SEL}, cache!="bypass"}[$__rate_interval]))`, '{{client}}']] },
  { title: 'Requests by cache result', unit: 'reqps', targets: [[`sum by (client, cache) (rate(steady_http_client_requests_total{${SEL}}[$__rate_interval]))`, '{{client}} {{cache}}'], [`sum by (client) (rate(steady_http_client_coalesced_requests_total{${SEL}}[$__rate_interval]))`, '{{client}} coalesced']] },
  { title: 'Origin latency p90 and store errors', unit: 's', targets: [[`histogram_quantile(0.9, sum by (client, le) (rate(steady_http_client_origin_duration_seconds_bucket{${SEL}}[$__rate_interval])))`, '{{client}} origin p90'], [`sum by (client, op) (rate(steady_http_client_store_errors_total{${SEL}}[$__rate_interval]))`, '{{client}} store errors {{op}}/s']] },
);

row('OOM guard — memory toward the guard');
line(
  { title: 'Memory ratio vs thresholds', unit: 'percentunit', min: 0, max: 1, targets: [[`steady_oom_memory_ratio{${SEL}}`, '{{instance}} {{kind}}'], [`steady_oom_threshold_ratio{${SEL}}`, '{{kind}} {{level}}']] },
  { title: 'Guard level', type: 'stat', thresholds: [[1, 'orange'], [2, 'red']], targets: [[`steady_oom_level{${SEL}}`, '{{instance}}']] },
  { title: 'Triggers and heap snapshots', unit: 'short', targets: [[`sum by (level, kind) (increase(steady_oom_triggers_total{${SEL}}[$__range]))`, '{{level}} {{kind}}'], [`sum by (result) (increase(steady_oom_snapshots_total{${SEL}}[$__range]))`, 'snapshots {{result}}'], [`time() - (steady_oom_last_action_timestamp_seconds{${SEL}} > 0)`, 'seconds since last action']] },
);

row('WebSocket — backpressure');
line(
  { title: 'Clients and slow consumers', unit: 'short', targets: [[`steady_ws_clients{${SEL}}`, '{{instance}} clients'], [`steady_ws_unwritable_clients{${SEL}}`, '{{instance}} above high water mark']] },
  { title: 'Buffered and queued bytes', unit: 'bytes', targets: [[`steady_ws_buffered_bytes{${SEL}}`, '{{instance}} buffered'], [`steady_ws_queued_bytes{${SEL}}`, '{{instance}} queued'], [`steady_ws_buffered_budget_bytes{${SEL}}`, '{{instance}} budget']] },
  { title: 'Drops, evictions, protocol errors', unit: 'short', targets: [[`sum by (reason) (increase(steady_ws_dropped_messages_total{${SEL}}[$__rate_interval]))`, 'dropped {{reason}}'], [`sum by (reason) (increase(steady_ws_evicted_clients_total{${SEL}}[$__rate_interval]))`, 'evicted {{reason}}'], [`sum by (code) (increase(steady_ws_protocol_errors_total{${SEL}}[$__rate_interval]))`, 'protocol {{code}}'], [`sum(increase(steady_ws_coalesced_messages_total{${SEL}}[$__rate_interval]))`, 'coalesced'], [`sum by (state) (increase(steady_ws_writability_changes_total{${SEL}}[$__rate_interval]))`, 'became {{state}}']] },
);

row('Sample app — spam scanner pool');
line(
  { title: 'Spam scan latency p90 by outcome', unit: 's', targets: [[`histogram_quantile(0.9, sum by (outcome, le) (rate(steady_sample_spam_scan_duration_seconds_bucket{${SEL}}[$__rate_interval])))`, '{{outcome}}']] },
  { title: 'Scanner pool', unit: 'short', targets: [[`steady_sample_spam_scanner_pool_in_use{${SEL}}`, 'in use'], [`steady_sample_spam_scanner_pool_size{${SEL}}`, 'size'], [`steady_sample_spam_scanner_queue_depth{${SEL}}`, 'queued']] },
  { title: 'Mails received', unit: 'reqps', targets: [[`sum by (verdict) (rate(steady_sample_mails_received_total{${SEL}}[$__rate_interval]))`, '{{verdict}}']] },
);

const dashboard = {
  __inputs: [{ name: 'DS_PROMETHEUS', label: 'Prometheus', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus' }],
  uid: 'steady-overview',
  title: 'Steady — on-call overview',
  description: 'Every Steady module, one row each; the same readings /ops/explain puts in words. Generated by tools/grafana-dashboard.mjs.',
  tags: ['steady', 'nestjs'],
  timezone: 'browser',
  schemaVersion: 39,
  version: 1,
  editable: true,
  refresh: '30s',
  time: { from: 'now-3h', to: 'now' },
  templating: {
    list: [
      { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source', current: {} },
      { name: 'job', type: 'query', datasource: DS, query: 'label_values(steady_in_flight_requests, job)', refresh: 2, includeAll: true, multi: true, current: {} },
      { name: 'instance', type: 'query', datasource: DS, query: 'label_values(steady_in_flight_requests{job=~"$job"}, instance)', refresh: 2, includeAll: true, multi: true, current: {} },
    ],
  },
  annotations: { list: [] },
  links: [],
  panels,
};

const out = fileURLToPath(new URL('../docs/grafana/steady.json', import.meta.url));
writeFileSync(out, JSON.stringify(dashboard, null, 2) + '\n');
console.log(`wrote ${out}: ${panels.length} panels`);
