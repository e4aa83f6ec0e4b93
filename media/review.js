/* global Option, HTMLInputElement */
// Review panel script: filters, sorts and renders the rows posted once by the extension, 200 rows at a time.
// Everything is built with textContent (never innerHTML), so names from the cluster cannot inject markup.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const chunk = 200;
  const severityRank = { UNKNOWN: 0, GOOD: 1, OK: 2, WARNING: 3, CRITICAL: 4 };

  const state = { rows: [], groups: [], visible: [], selected: new Set(), limit: chunk, readOnly: false, planReady: false, busy: false };
  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };

  function money(value) {
    if (value === null || value === undefined) return '–';
    const sign = value < 0 ? '−' : value > 0 ? '+' : '';
    return sign + Math.abs(value).toFixed(2);
  }

  function groupRows(rows) {
    const byKey = new Map();
    for (const row of rows) {
      let group = byKey.get(row.workload);
      if (!group) {
        group = { key: row.workload, cluster: row.cluster, namespace: row.namespace, kind: row.kind, name: row.name, rows: [], severity: 'UNKNOWN', cost: null, search: '', owner: row.owner };
        byKey.set(row.workload, group);
      }
      group.rows.push(row);
      if (severityRank[row.severity] > severityRank[group.severity]) group.severity = row.severity;
      if (row.monthlyCostDelta !== null) group.cost = (group.cost || 0) + row.monthlyCostDelta;
    }
    for (const group of byKey.values()) {
      group.search = ((group.cluster ? group.cluster + ' ' : '') + group.namespace + '/' + group.kind + '/' + group.name + ' ' + group.rows.map((row) => row.container).join(' ')).toLowerCase();
    }
    return [...byKey.values()];
  }

  function fillSelect(select, values) {
    while (select.options.length > 1) select.remove(1);
    for (const value of values) select.add(new Option(value, value));
  }

  function applyFilters() {
    const cluster = $('f-cluster').value;
    const namespace = $('f-namespace').value;
    const kind = $('f-kind').value;
    const severity = $('f-severity').value;
    const text = $('f-text').value.trim().toLowerCase();
    const sort = $('f-sort').value;
    const min = severity ? severityRank[severity] : -1;
    const visible = state.groups.filter(
      (group) =>
        (!cluster || group.cluster === cluster) &&
        (!namespace || group.namespace === namespace) &&
        (!kind || group.kind === kind) &&
        severityRank[group.severity] >= min &&
        (!text || group.search.includes(text)),
    );
    const byName = (a, b) => a.key.localeCompare(b.key);
    if (sort === 'savings') visible.sort((a, b) => (a.cost ?? 0) - (b.cost ?? 0) || byName(a, b));
    else if (sort === 'severity') visible.sort((a, b) => severityRank[b.severity] - severityRank[a.severity] || byName(a, b));
    else visible.sort(byName);
    state.visible = visible;
    state.limit = chunk;
    render();
  }

  function cell(value) {
    const td = el('td', 'quantity');
    const from = value.from === null ? 'unset' : value.from;
    const to = value.to === null ? 'unset' : value.to;
    if (value.to === '?') {
      td.append(el('span', 'from', from), el('span', 'muted', ' (no data)'));
      return td;
    }
    if (from === to) {
      td.append(el('span', 'same', from));
      return td;
    }
    td.append(el('span', 'from', from), el('span', 'arrow', ' → '), el('span', 'to', to));
    if (value.percent !== null) {
      const up = value.percent > 0;
      td.append(el('span', up ? 'delta up' : 'delta down', ' ' + (up ? '+' : '−') + Math.abs(value.percent) + '%'));
    }
    return td;
  }

  function workloadRow(group) {
    const tr = el('tr', 'workload');
    const select = el('td', 'select');
    const box = el('input');
    box.type = 'checkbox';
    box.checked = state.selected.has(group.key);
    box.dataset.key = group.key;
    box.setAttribute('aria-label', 'Select ' + group.kind + ' ' + group.namespace + '/' + group.name);
    select.append(box);
    const name = el('th', 'name');
    name.scope = 'rowgroup';
    name.colSpan = 5;
    if (group.cluster) name.append(el('span', 'cluster', '[' + group.cluster + '] '));
    name.append(el('span', 'kind', group.kind + ' '), el('span', '', group.namespace + '/'), el('strong', '', group.name), el('span', 'muted', ' · ' + group.rows.length + (group.rows.length === 1 ? ' container' : ' containers')));
    if (group.owner) {
      const badge = el('span', 'owner' + (group.owner.certain ? ' certain' : ''), 'GitOps: ' + group.owner.label);
      badge.title = group.owner.title;
      name.append(' ', badge);
    }
    const severity = el('td', '');
    severity.append(el('span', 'severity ' + group.severity.toLowerCase(), group.severity));
    tr.append(select, name, severity, el('td', 'num cost', money(group.cost)), el('td', ''));
    return tr;
  }

  function containerRow(row) {
    const tr = el('tr', 'container');
    tr.append(el('td', 'select'), el('td', 'name indent', row.container), cell(row.cpuRequest), cell(row.cpuLimit), cell(row.memoryRequest), cell(row.memoryLimit));
    const severity = el('td', '');
    severity.append(el('span', 'severity ' + row.severity.toLowerCase(), row.severity));
    const notes = el('td', 'notes');
    for (const note of row.notes) notes.append(el('span', 'note' + (/oom/i.test(note) ? ' warn' : ''), note));
    tr.append(severity, el('td', 'num', money(row.monthlyCostDelta)), notes);
    return tr;
  }

  function render() {
    const body = $('rows');
    const fragment = document.createDocumentFragment();
    let shownRows = 0;
    let shownGroups = 0;
    for (const group of state.visible) {
      if (shownRows >= state.limit) break;
      fragment.append(workloadRow(group));
      for (const row of group.rows) fragment.append(containerRow(row));
      shownRows += group.rows.length;
      shownGroups++;
    }
    body.replaceChildren(fragment);
    const totalRows = state.visible.reduce((sum, group) => sum + group.rows.length, 0);
    $('shown').textContent = 'Showing ' + shownGroups + ' of ' + state.visible.length + ' workloads (' + shownRows + ' of ' + totalRows + ' containers).';
    $('show-more').hidden = shownGroups >= state.visible.length;
    renderTotals();
  }

  function renderTotals() {
    let containers = 0;
    let cost = 0;
    for (const group of state.groups) {
      if (!state.selected.has(group.key)) continue;
      containers += group.rows.length;
      cost += group.cost ?? 0;
    }
    $('totals').textContent = state.selected.size === 0 ? 'Nothing selected.' : 'Selected: ' + state.selected.size + ' workloads, ' + containers + ' containers, monthly Δ ' + money(cost) + '.';
    $('preview').disabled = state.busy || state.selected.size === 0;
    $('apply').disabled = state.busy || !state.planReady || state.readOnly;
    $('apply').title = state.readOnly ? 'Writes are disabled' : state.planReady ? 'Apply the previewed plan (asks for your approval)' : 'Preview first';
  }

  function selectedWorkloads() {
    return state.groups.filter((group) => state.selected.has(group.key)).map((group) => (group.cluster ? { cluster: group.cluster, namespace: group.namespace, kind: group.kind, name: group.name } : { namespace: group.namespace, kind: group.kind, name: group.name }));
  }

  function selectionChanged() {
    state.planReady = false;
    $('plan').hidden = true;
    renderTotals();
    vscode.postMessage({ type: 'selection', workloads: selectedWorkloads() });
  }

  function showPlanText(text, className) {
    const plan = $('plan');
    plan.textContent = text;
    plan.className = 'plan ' + (className || '');
    plan.hidden = false;
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (message.type === 'empty') {
      $('empty').hidden = false;
      $('main').hidden = true;
      $('summary').textContent = 'No report loaded.';
      setReadOnly(message.readOnly);
    } else if (message.type === 'rows') {
      $('empty').hidden = true;
      $('main').hidden = false;
      state.rows = message.rows;
      state.groups = groupRows(message.rows);
      state.selected = new Set();
      state.planReady = false;
      state.busy = false;
      $('plan').hidden = true;
      const s = message.summary;
      $('summary').textContent = s.source + (s.cluster && !s.source.includes(s.cluster) ? ' · ' + s.cluster : '') + ' · strategy ' + s.strategy + ' · ' + s.workloads + ' workloads, ' + s.containers + ' containers · monthly Δ if all applied ' + money(s.monthlyCostDelta) + (s.errors.length ? ' · ' + s.errors.length + ' krr errors' : '');
      const clusters = message.clusters || [];
      $('f-cluster-label').hidden = clusters.length === 0;
      fillSelect($('f-cluster'), clusters.map((cluster) => cluster.cluster));
      $('clusters').hidden = clusters.length === 0;
      $('clusters').textContent = clusters.map((cluster) => cluster.cluster + ': ' + cluster.rows + ' containers, monthly Δ ' + money(cluster.monthlyCostDelta) + ', ' + cluster.bySeverity.CRITICAL + ' critical, ' + cluster.bySeverity.WARNING + ' warning').join(' · ') + ((message.failed || []).length ? ' · failed: ' + message.failed.join(' · ') : '');
      fillSelect($('f-namespace'), [...new Set(state.groups.map((group) => group.namespace))].sort());
      fillSelect($('f-kind'), [...new Set(state.groups.map((group) => group.kind))].sort());
      setReadOnly(message.readOnly);
      applyFilters();
    } else if (message.type === 'owners') {
      for (const group of state.groups) if (Object.prototype.hasOwnProperty.call(message.owners, group.key)) group.owner = message.owners[group.key];
      render();
    } else if (message.type === 'busy') {
      state.busy = true;
      showPlanText(message.message, 'busy');
      renderTotals();
    } else if (message.type === 'plan') {
      state.busy = false;
      const plan = message.plan;
      if (!plan) {
        state.planReady = false;
        showPlanText('Preview failed: ' + (message.error || 'unknown error'), 'error');
      } else {
        state.planReady = plan.objects > 0;
        const blocked = plan.blocked.length ? ' ' + plan.blocked.length + (plan.target === 'manifests' ? ' not written: ' : ' blocked: ') + plan.blocked.map((item) => item.workload + ' (' + item.reasons.join('; ') + ')').join(', ') + '.' : '';
        const what = plan.target === 'manifests' ? plan.objects + ' files in the workspace (nothing is sent to the cluster)' : plan.objects + ' objects, risk ' + plan.risk + ', monthly Δ ' + money(plan.monthlyCostDelta);
        showPlanText(plan.id + ': ' + what + '. The diff is open.' + blocked, plan.objects > 0 ? '' : 'error');
      }
      renderTotals();
    } else if (message.type === 'outcome') {
      state.busy = false;
      state.planReady = false;
      const outcome = message.outcome;
      showPlanText(outcome.status + ': ' + outcome.message, outcome.status === 'applied' ? 'ok' : 'error');
      renderTotals();
    }
  });

  function setReadOnly(readOnly) {
    state.readOnly = readOnly.readOnly;
    const banner = $('readonly');
    banner.hidden = !readOnly.readOnly;
    banner.textContent = readOnly.readOnly ? 'Read-only: ' + (readOnly.reason || 'writes are disabled') + '. You can review and preview; applying is disabled.' : '';
  }

  $('rows').addEventListener('change', (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.dataset.key) return;
    if (box.checked) state.selected.add(box.dataset.key);
    else state.selected.delete(box.dataset.key);
    selectionChanged();
  });
  for (const id of ['f-cluster', 'f-namespace', 'f-kind', 'f-severity', 'f-sort']) $(id).addEventListener('change', applyFilters);
  let typing;
  $('f-text').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(applyFilters, 120);
  });
  $('filters').addEventListener('submit', (event) => event.preventDefault());
  $('show-more').addEventListener('click', () => {
    state.limit += chunk;
    render();
  });
  $('select-visible').addEventListener('click', () => {
    for (const group of state.visible) state.selected.add(group.key);
    render();
    selectionChanged();
  });
  $('select-none').addEventListener('click', () => {
    state.selected.clear();
    render();
    selectionChanged();
  });
  $('preview').addEventListener('click', () => vscode.postMessage({ type: 'preview', workloads: selectedWorkloads(), includeLimits: $('include-limits').checked, target: $('target').value }));
  // A plan covers requests only or requests and limits, the cluster or the manifests: changing either needs a new preview.
  $('include-limits').addEventListener('change', selectionChanged);
  $('target').addEventListener('change', selectionChanged);
  $('apply').addEventListener('click', () => vscode.postMessage({ type: 'apply' }));
  for (const button of document.querySelectorAll('[data-command]')) {
    button.addEventListener('click', () => vscode.postMessage({ type: 'command', command: button.getAttribute('data-command') }));
  }
  vscode.postMessage({ type: 'ready' });
})();
