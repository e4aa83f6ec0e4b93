// The review panel's page: its static markup inside the shared frame (webviewPage: strict CSP, one script by nonce).
// media/review.js fills it from the messages the panel posts; the ids here are what that script looks up.
import type * as vscode from 'vscode';
import { webviewHtml } from './webviewPage';

export function reviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtml(webview, extensionUri, {
    title: 'KRR Recommendations',
    script: 'review.js',
    style: 'review.css',
    images: true,
    body: `<header>
  <h1>KRR recommendations</h1>
  <p id="summary" role="status" aria-live="polite">Loading…</p>
  <p id="readonly" class="banner" hidden></p>
  <p id="clusters" hidden></p>
</header>
<section id="empty" hidden>
  <p>No krr report yet.</p>
  <button type="button" data-command="krr.scan">Scan Cluster…</button>
  <button type="button" data-command="krr.openReport" class="secondary">Open krr Report File…</button>
</section>
<section id="main" hidden>
  <figure id="savings" class="savings" hidden>
    <figcaption><span id="savings-title"></span> <span class="legend"><span class="swatch current"></span>current requests <span class="swatch recommended"></span>recommended</span></figcaption>
    <div id="savings-chart"></div>
  </figure>
  <div id="problems" class="banner problems" role="note" hidden>
    <strong id="problems-heading"></strong>
    <ul id="problems-list"></ul>
    <button type="button" class="link" data-output>All of them in Output</button>
  </div>
  <form id="filters" class="filters" role="search" aria-label="Filter recommendations">
    <label id="f-cluster-label" hidden>Cluster <select id="f-cluster"><option value="">All</option></select></label>
    <label>Namespace <select id="f-namespace"><option value="">All</option></select></label>
    <label>Kind <select id="f-kind"><option value="">All</option></select></label>
    <label>Severity <select id="f-severity">
      <option value="">All</option><option value="CRITICAL">Critical</option><option value="WARNING">Warning or worse</option><option value="OK">OK or worse</option><option value="GOOD">Good or worse</option>
    </select></label>
    <label>Search <input id="f-text" type="search" placeholder="workload or container"></label>
    <label>Sort <select id="f-sort"><option value="savings">Savings</option><option value="severity">Severity</option><option value="name">Name</option></select></label>
  </form>
  <div class="toolbar">
    <button type="button" id="select-visible" class="secondary">Select all matching</button>
    <button type="button" id="select-none" class="secondary">Clear selection</button>
    <span id="totals" role="status" aria-live="polite"></span>
    <span class="spacer"></span>
    <label title="Also change limits (krr's limit recommendations); without it only requests change, and a request above its limit is blocked."><input type="checkbox" id="include-limits"> Include limits</label>
    <label title="Cluster: patch the live objects. Manifests: edit the manifests in the workspace folders (GitOps: Argo CD or Flux apply them from Git)."><span>Target</span> <select id="target"><option value="cluster">Cluster</option><option value="manifests">Manifests</option></select></label>
    <button type="button" id="try" class="secondary" disabled>Try on Pods…</button>
    <button type="button" id="preview" disabled>Preview</button>
    <button type="button" id="apply" disabled>Apply…</button>
  </div>
  <div id="plan" class="plan" role="status" aria-live="polite" hidden><p id="plan-text"></p><div id="plan-skips" hidden><strong id="plan-skips-heading"></strong><ul id="plan-skips-list"></ul><button type="button" class="link" data-output>Full list in Output</button></div><div id="plan-choices" hidden><strong>Several sources could define these workloads. Pick the one to edit: the plan is proposed again with it, and your pick is part of what you approve.</strong><ul id="plan-choices-list"></ul></div></div>
  <p id="evidence" class="evidence" role="status" aria-live="polite" hidden></p>
  <figure id="usage" class="usage-figure" hidden>
    <figcaption><strong id="usage-title"></strong> <span class="legend" aria-label="Legend"><span class="key"><svg width="22" height="8" aria-hidden="true"><line x1="0" y1="4" x2="22" y2="4" class="usage-line"/></svg>usage</span><span class="key"><svg width="22" height="8" aria-hidden="true"><line x1="0" y1="4" x2="22" y2="4" class="limit-line current-request"/></svg>request now</span><span class="key"><svg width="22" height="8" aria-hidden="true"><line x1="0" y1="4" x2="22" y2="4" class="limit-line current-limit"/></svg>limit now</span><span class="key"><svg width="22" height="8" aria-hidden="true"><line x1="0" y1="4" x2="22" y2="4" class="limit-line recommended-request"/></svg>recommended request</span><span class="key"><svg width="22" height="8" aria-hidden="true"><line x1="0" y1="4" x2="22" y2="4" class="limit-line recommended-limit"/></svg>recommended limit</span></span> <button type="button" id="usage-close" class="link">Hide</button></figcaption>
    <div class="usage-charts"><div id="usage-cpu" class="usage-chart"></div><div id="usage-memory" class="usage-chart"></div><ul id="usage-facts" class="usage-facts"></ul></div>
  </figure>
  <div class="table-wrap">
  <table id="table" aria-label="Recommendations per container">
    <colgroup><col class="c-select"><col class="c-name"><col class="c-value"><col class="c-value"><col class="c-value"><col class="c-value"><col class="c-severity"><col class="c-cost"><col class="c-notes"></colgroup>
    <thead><tr>
      <th scope="col" class="select"><span class="visually-hidden">Selected</span></th>
      <th scope="col">Workload / container<span id="usage-head" class="usage-head" title="CPU (left) and memory (right) as Prometheus recorded them, with the request and limit now (blue) and as recommended (green). Click a row for its chart." hidden>usage, 14 days</span></th>
      <th scope="col">CPU request</th><th scope="col">CPU limit</th>
      <th scope="col">Memory request</th><th scope="col">Memory limit</th>
      <th scope="col">Severity</th><th scope="col" class="num">Monthly Δ</th><th scope="col">Notes</th>
    </tr></thead>
    <tbody id="rows"></tbody>
  </table>
  <div class="more"><span id="shown"></span> <button type="button" id="show-more" class="secondary" hidden>Show more</button></div>
  </div>
</section>`,
  });
}
