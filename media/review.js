/* global Option, HTMLInputElement, HTMLButtonElement, Element */
// Review panel script: filters, sorts and renders the rows posted once by the extension, 200 rows at a time.
// The rows arrive as a first page ('rows', complete: false) and the rest in slices ('more-rows'): the table shows
// the first page at once and refilters as slices land, keeping filters, sort, selection and "Show more".
// Everything is built with textContent (never innerHTML), so names from the cluster cannot inject markup. Names
// arrive already made visible by the extension (core/text.displayName: a U+202E shows as ⟨U+202E⟩) and go into
// <bdi>, so a right-to-left name cannot reorder the text around it. Money and counts arrive formatted (one
// formatter, core/text). Selection, filters and sort live in the webview state, which a window reload restores.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const chunk = 200;
  const severityRank = { UNKNOWN: 0, GOOD: 1, OK: 2, WARNING: 3, CRITICAL: 4 };
  const filterIds = ['f-cluster', 'f-namespace', 'f-kind', 'f-severity', 'f-text', 'f-sort'];

  const saved = vscode.getState() || {};
  const state = { reportId: null, stream: null, loading: false, byKey: new Map(), workloads: new Map(), groups: [], visible: [], selected: new Set(), limit: chunk, readOnly: false, planReady: false, planTarget: 'cluster', busy: false, marks: {}, summaryText: '', loadingText: '' };
  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };
  const svg = (tag, attributes, text) => {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  /**
   * Usage evidence (Prometheus, read by the extension after the first rows): its state and line, the small charts the
   * extension computed for rows rendered so far (asked for as rows render), and the row whose large chart is shown.
   */
  const freshUsage = () => ({ state: 'none', charts: new Map(), pending: new Set(), cells: new Map(), chosen: null });
  let usage = freshUsage();
  /** An untrusted name, isolated: <bdi> keeps its direction from leaking into the text around it. */
  const bdi = (text, className) => el('bdi', className, text);

  function saveState() {
    const filters = {};
    for (const id of filterIds) filters[id] = $(id).value;
    vscode.setState({ reportId: state.reportId, selected: [...state.selected], filters, includeLimits: $('include-limits').checked });
  }

  /** Adds rows to their workload's group (a workload's containers may arrive in different slices). */
  function addRows(rows) {
    const touched = new Set();
    for (const row of rows) {
      let group = state.byKey.get(row.workload);
      if (!group) {
        const workload = state.workloads.get(row.workload) || {};
        group = { key: row.workload, cluster: row.cluster, namespace: row.namespace, kind: row.kind, name: row.name, workload, rows: [], severity: 'UNKNOWN', cost: workload.cost ?? null, search: '', owner: row.owner };
        state.byKey.set(row.workload, group);
        state.groups.push(group);
      }
      group.rows.push(row);
      if (severityRank[row.severity] > severityRank[group.severity]) group.severity = row.severity;
      touched.add(group);
    }
    for (const group of touched) {
      group.search = ((group.cluster ? group.cluster + ' ' : '') + group.namespace + '/' + group.kind + '/' + group.name + ' ' + group.rows.map((row) => row.container).join(' ')).toLowerCase();
    }
  }

  /** Keeps the chosen value: options only grow while slices arrive. */
  function fillSelect(select, values) {
    const chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const value of values) select.add(new Option(value, value));
    select.value = values.includes(chosen) ? chosen : '';
  }

  function fillFilterOptions() {
    fillSelect($('f-namespace'), [...new Set(state.groups.map((group) => group.namespace))].sort());
    fillSelect($('f-kind'), [...new Set(state.groups.map((group) => group.kind))].sort());
  }

  /** `keepLimit`: a slice of rows arrived; rows already shown with "Show more" stay shown. */
  function applyFilters(keepLimit) {
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
    if (keepLimit !== true) state.limit = chunk;
    render();
    saveState();
  }

  function cell(value) {
    const td = el('td', 'quantity');
    const from = value.from === null ? 'unset' : value.from;
    const to = value.to === null ? 'unset' : value.to;
    td.title = value.to === '?' ? from + ' (krr has no data)' : value.same ? from : from + ' → ' + to;
    if (value.to === '?') {
      td.append(el('span', 'from', from), el('span', 'muted', ' (no data)'));
      return td;
    }
    if (value.same) {
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

  function blocksOf(group) {
    const blocks = group.workload.blocks;
    if (!blocks) return [];
    return $('include-limits').checked ? blocks.limits : blocks.requests;
  }

  function workloadRow(group) {
    const tr = el('tr', 'workload');
    tr.dataset.key = group.key;
    const select = el('td', 'select');
    const box = el('input');
    box.type = 'checkbox';
    box.checked = state.selected.has(group.key);
    box.dataset.key = group.key;
    const shownNamespace = group.workload.shownNamespace || group.namespace;
    const shownName = group.workload.shownName || group.name;
    box.setAttribute('aria-label', 'Select ' + group.kind + ' ' + shownNamespace + '/' + shownName);
    // A workload whose name kubectl cannot take is never proposed: it cannot be ticked.
    if (group.workload.invalid) box.disabled = true;
    select.append(box);
    const name = el('th', 'name');
    name.scope = 'rowgroup';
    name.colSpan = 5;
    // One line with an ellipsis; the whole name is in the tooltip.
    name.title = (group.cluster ? '[' + group.cluster + '] ' : '') + group.kind + ' ' + shownNamespace + '/' + shownName;
    const line = el('div', 'ellipsis');
    if (group.cluster) line.append(el('span', 'cluster', '['), bdi(group.cluster), el('span', 'cluster', '] '));
    line.append(el('span', 'kind', group.kind + ' '), bdi(shownNamespace), document.createTextNode('/'), bdi(shownName, 'workload-name'), el('span', 'muted', ' · ' + containersText(group)));
    const mark = state.marks[group.key];
    const badges = el('div', 'badges');
    if (mark) {
      const badge = el('span', 'badge applied', mark.label);
      badge.title = mark.title;
      badges.append(badge);
    }
    if (group.workload.invalid) badges.append(el('span', 'badge invalid', 'invalid name'));
    if (blocksOf(group).length > 0) badges.append(el('span', 'badge blocked', 'blocked'));
    if (group.owner) {
      // Who reconciles the workload from Git: a badge, its evidence in the tooltip.
      const badge = el('span', 'badge owner' + (group.owner.certain ? ' certain' : ''), 'GitOps: ' + group.owner.label);
      badge.title = group.owner.title;
      badges.append(badge);
    }
    name.append(line);
    const severity = el('td', '');
    severity.append(el('span', 'severity ' + group.severity.toLowerCase(), group.severity));
    const notes = el('td', 'notes');
    notes.append(badges);
    tr.append(select, name, severity, el('td', 'num cost', group.workload.costText || '–'), notes);
    return tr;
  }

  /** Under a workload: why it is blocked or skipped, before any Preview, with the setting that decides it. */
  function reasonRows(group) {
    const rows = [];
    const reasons = [];
    if (group.workload.invalid) reasons.push({ className: 'invalid', text: 'Skipped: ' + group.workload.invalid, setting: '' });
    for (const block of blocksOf(group)) reasons.push({ className: 'blocked', text: 'Blocked by policy: ' + block.message, setting: block.setting });
    for (const reason of reasons) {
      const tr = el('tr', 'reason ' + reason.className);
      const td = el('td', 'reason-text');
      td.colSpan = 8;
      td.title = reason.text;
      td.append(el('span', '', reason.text));
      if (reason.setting) {
        const link = el('button', 'link', reason.setting);
        link.type = 'button';
        link.dataset.setting = reason.setting;
        link.title = 'Open the setting ' + reason.setting;
        td.append(document.createTextNode(' '), link);
      }
      tr.append(el('td', 'select'), td);
      rows.push(tr);
    }
    return rows;
  }

  function containerRow(row) {
    const tr = el('tr', 'container');
    const name = el('td', 'name indent');
    name.title = row.shownContainer;
    const line = el('div', 'ellipsis');
    line.append(bdi(row.shownContainer));
    if (row.invalid) line.append(el('span', 'badge invalid', 'invalid name: skipped'));
    if (usageShown()) {
      // The sparklines sit in the name cell, right of the name: the name column has the room, the table keeps its width.
      const key = row.workload + '\n' + row.container;
      tr.dataset.usage = key;
      if (key === usage.chosen) tr.classList.add('chosen');
      const spot = el('span', 'usage');
      usage.cells.set(key, spot);
      fillUsageCell(spot, key);
      const both = el('div', 'name-usage');
      both.append(line, spot);
      name.append(both);
    } else {
      name.append(line);
    }
    tr.append(el('td', 'select'), name, cell(row.cpuRequest), cell(row.cpuLimit), cell(row.memoryRequest), cell(row.memoryLimit));
    const severity = el('td', '');
    severity.append(el('span', 'severity ' + row.severity.toLowerCase(), row.severity));
    const notes = el('td', 'notes');
    for (const note of row.notes) {
      // krr's notes are CamelCase tokens (NoPrometheusCPUMetrics): a line break is offered between their words, so a
      // narrow column shows "NoPrometheus / CPUMetrics" instead of three chips all cut to "NoPrometheu…".
      const chip = el('span', 'note' + (/oom/i.test(note) ? ' warn' : ''));
      note.split(/(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/).forEach((word, index) => {
        if (index > 0) chip.append(document.createElement('wbr'));
        chip.append(word);
      });
      chip.title = note;
      notes.append(chip);
    }
    tr.append(severity, el('td', 'num', row.costText), notes);
    return tr;
  }

  function render() {
    usageColumn(usageShown());
    usage.cells = new Map();
    const body = $('rows');
    const fragment = document.createDocumentFragment();
    let shownRows = 0;
    let shownGroups = 0;
    for (const group of state.visible) {
      if (shownRows >= state.limit) break;
      fragment.append(workloadRow(group), ...reasonRows(group));
      for (const row of group.rows) fragment.append(containerRow(row));
      shownRows += group.rows.length;
      shownGroups++;
    }
    body.replaceChildren(fragment);
    const totalRows = state.visible.reduce((sum, group) => sum + group.rows.length, 0);
    $('shown').textContent = 'Showing ' + shownGroups + ' of ' + state.visible.length + ' workloads (' + shownRows + ' of ' + totalRows + ' containers).' + (state.loading ? ' Loading more rows…' : '');
    $('show-more').hidden = shownGroups >= state.visible.length;
    renderButtons();
    askForCharts();
  }

  // ── usage charts: SVG built from what the extension computed (src/editor/usageChart.ts), classes for the colours ──

  function usageShown() {
    return usage.state === 'available';
  }

  /** The name column's header names the sparklines while there are any. */
  function usageColumn(on) {
    $('usage-head').hidden = !on;
  }

  function sparkSvg(view, className) {
    const root = svg('svg', { viewBox: '0 0 ' + view.width + ' ' + view.height, width: view.width, height: view.height, class: 'spark ' + className, role: 'img', 'aria-label': view.title });
    root.append(svg('title', {}, view.title));
    for (const line of view.lines) root.append(svg('line', { x1: 0, x2: view.width, y1: line.y, y2: line.y, class: 'limit-line ' + line.kind }));
    if (view.empty) root.append(svg('text', { x: view.width / 2, y: view.height / 2 + 3, 'text-anchor': 'middle', class: 'empty' }, view.empty));
    else root.append(svg('path', { d: view.path, class: 'usage-line' }));
    return root;
  }

  function fillUsageCell(spot, key) {
    const charts = usage.charts.get(key);
    if (charts === undefined) {
      spot.replaceChildren(el('span', 'muted', '…'));
      spot.title = 'Loading its usage…';
    } else if (charts === null) {
      spot.replaceChildren(el('span', 'muted', '–'));
      spot.title = 'No usage evidence for this container';
    } else {
      const button = el('button', 'spark-button');
      button.type = 'button';
      button.title = charts.cpu.title + '\n' + charts.memory.title;
      button.setAttribute('aria-label', 'Show the usage chart: ' + charts.cpu.title + '; ' + charts.memory.title);
      button.append(sparkSvg(charts.cpu, 'cpu'), sparkSvg(charts.memory, 'memory'));
      spot.title = '';
      spot.replaceChildren(button);
    }
  }

  /** The charts of the rows just rendered that the page does not have yet, in one message. */
  function askForCharts() {
    if (!usageShown()) return;
    const keys = [...usage.cells.keys()].filter((key) => !usage.charts.has(key) && !usage.pending.has(key));
    if (keys.length === 0) return chooseFirst();
    for (const key of keys) usage.pending.add(key);
    // In batches the extension accepts (at most 1,000 keys a message): "Show more" can have rendered many rows.
    for (let start = 0; start < keys.length; start += 500) vscode.postMessage({ type: 'usage-charts', keys: keys.slice(start, start + 500) });
  }

  /** Until a person picks a row, the large chart shows the first rendered row that has evidence. */
  function chooseFirst() {
    if (usage.chosen !== null) return;
    for (const [key] of usage.cells) {
      if (usage.charts.get(key)) return choose(key);
    }
  }

  function choose(key) {
    usage.chosen = key;
    for (const row of $('rows').querySelectorAll('tr.container.chosen')) row.classList.remove('chosen');
    for (const row of $('rows').querySelectorAll('tr.container')) if (row.dataset.usage === key) row.classList.add('chosen');
    vscode.postMessage({ type: 'usage-detail', key });
  }

  const svgWidth = (node) => (typeof node.getComputedTextLength === 'function' ? node.getComputedTextLength() : 0);

  /** The selected row's chart of one signal: axes, grid, area, line, the four lines, and the nearest value on hover. */
  function detailSvg(view, heading) {
    const plot = view.plot;
    const root = svg('svg', { viewBox: '0 0 ' + view.width + ' ' + view.height, width: view.width, height: view.height, class: 'detail', role: 'img', 'aria-label': heading + ': ' + view.title });
    root.append(svg('title', {}, view.title));
    for (const tick of view.yTicks) {
      root.append(svg('line', { x1: plot.left, x2: plot.right, y1: tick.y, y2: tick.y, class: 'grid' }), svg('text', { x: plot.left - 5, y: tick.y + 4, 'text-anchor': 'end', class: 'axis' }, tick.label));
    }
    for (const tick of view.xTicks) {
      root.append(svg('line', { x1: tick.x, x2: tick.x, y1: plot.top, y2: plot.bottom, class: 'grid' }), svg('text', { x: tick.x, y: plot.bottom + 14, 'text-anchor': 'middle', class: 'axis' }, tick.label));
    }
    root.append(svg('line', { x1: plot.left, x2: plot.right, y1: plot.bottom, y2: plot.bottom, class: 'axis-line' }));
    if (view.empty) {
      root.append(svg('text', { x: (plot.left + plot.right) / 2, y: (plot.top + plot.bottom) / 2, 'text-anchor': 'middle', class: 'empty' }, view.empty));
    } else {
      root.append(svg('path', { d: view.area, class: 'usage-area' }), svg('path', { d: view.path, class: 'usage-line' }));
    }
    for (const line of view.lines) {
      const drawn = svg('line', { x1: plot.left, x2: plot.right, y1: line.y, y2: line.y, class: 'limit-line ' + line.kind });
      drawn.append(svg('title', {}, line.label));
      root.append(drawn);
    }
    const points = view.points;
    if (points.x.length === 0) return root;
    const guide = svg('line', { x1: 0, x2: 0, y1: plot.top, y2: plot.bottom, class: 'hover-guide', visibility: 'hidden' });
    const dot = svg('circle', { cx: 0, cy: 0, r: 3, class: 'hover-dot', visibility: 'hidden' });
    const box = svg('rect', { x: 0, y: 0, width: 0, height: 16, rx: 2, class: 'hover-box', visibility: 'hidden' });
    const label = svg('text', { x: 0, y: 0, class: 'hover-label', visibility: 'hidden' });
    const target = svg('rect', { x: plot.left, y: plot.top, width: plot.right - plot.left, height: plot.bottom - plot.top, class: 'hover-target' });
    root.append(guide, dot, box, label, target);
    const show = (index) => {
      const x = points.x[index];
      const y = points.y[index];
      guide.setAttribute('x1', x);
      guide.setAttribute('x2', x);
      dot.setAttribute('cx', x);
      dot.setAttribute('cy', y);
      label.textContent = points.labels[index];
      const width = svgWidth(label) + 10;
      // Beside the point, inside the plot: to its right unless that would leave the plot.
      const left = x + 8 + width <= plot.right ? x + 8 : Math.max(plot.left, x - 8 - width);
      box.setAttribute('x', left);
      box.setAttribute('y', plot.top);
      box.setAttribute('width', width);
      label.setAttribute('x', left + 5);
      label.setAttribute('y', plot.top + 12);
      for (const node of [guide, dot, box, label]) node.setAttribute('visibility', 'visible');
      root.setAttribute('data-hover', points.labels[index]);
    };
    target.addEventListener('mousemove', (event) => {
      const rect = root.getBoundingClientRect();
      if (rect.width === 0) return;
      const x = ((event.clientX - rect.left) * view.width) / rect.width;
      // The nearest point by x: the points are in time order.
      let low = 0;
      let high = points.x.length - 1;
      while (low < high) {
        const middle = (low + high) >> 1;
        if (points.x[middle] < x) low = middle + 1;
        else high = middle;
      }
      const index = low > 0 && Math.abs(points.x[low - 1] - x) <= Math.abs(points.x[low] - x) ? low - 1 : low;
      show(index);
    });
    target.addEventListener('mouseleave', () => {
      for (const node of [guide, dot, box, label]) node.setAttribute('visibility', 'hidden');
      root.removeAttribute('data-hover');
    });
    return root;
  }

  function renderDetail(detail) {
    const figure = $('usage');
    figure.hidden = false;
    if (!detail) {
      $('usage-title').textContent = 'No usage evidence for this container.';
      $('usage-cpu').replaceChildren();
      $('usage-memory').replaceChildren();
      $('usage-facts').replaceChildren();
      return;
    }
    $('usage-title').replaceChildren(bdi(detail.title));
    const chart = (id, heading, view) => {
      const box = $(id);
      box.replaceChildren(el('div', 'usage-heading', heading), detailSvg(view, heading));
    };
    chart('usage-cpu', 'CPU (cores)', detail.cpu);
    chart('usage-memory', 'Memory (working set)', detail.memory);
    $('usage-facts').replaceChildren(...detail.facts.map((fact) => el('li', '', fact)), el('li', 'muted', 'Times in ' + detail.timeZone + '. Hover a chart for the nearest sample.'));
  }

  function resetUsage() {
    usage = freshUsage();
    $('evidence').hidden = true;
    $('usage').hidden = true;
  }

  /** The kinds with long-running pods a trial can resize (the extension checks again: core/trial/plan trialKindProblem). */
  const trialKinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'];

  function renderButtons() {
    $('preview').disabled = state.busy || state.selected.size === 0;
    const ticked = state.selected.size === 1 ? selectedWorkloads() : [];
    const tryable = ticked.length === 1 && trialKinds.includes(ticked[0].kind);
    $('try').disabled = state.busy || state.readOnly || !tryable;
    $('try').title = state.readOnly ? 'Writes are disabled' : tryable ? 'Resize a few running pods of this workload in place for a while (asks how many, then for your approval); the template is not changed' : 'Tick one Deployment, StatefulSet, DaemonSet or Rollout';
    // "All matching" would miss the rows still on their way.
    $('select-visible').disabled = state.loading;
    $('select-visible').title = state.loading ? 'Wait until every row has arrived' : '';
    $('apply').disabled = state.busy || !state.planReady || state.readOnly;
    const files = state.planTarget === 'manifests';
    $('apply').textContent = files ? 'Write Files…' : 'Apply…';
    $('apply').title = state.readOnly ? 'Writes are disabled' : !state.planReady ? 'Preview first' : files ? 'Write the previewed edits to the workspace files (asks for your approval; nothing is sent to the cluster)' : 'Apply the previewed plan to the cluster (asks for your approval)';
  }

  /** "2 containers"; while rows are on their way, "1 of 2 containers" for a workload whose other rows have not arrived. */
  function containersText(group) {
    const all = typeof group.workload.containers === 'number' ? group.workload.containers : group.rows.length;
    return (group.rows.length < all ? group.rows.length + ' of ' : '') + all + (all === 1 ? ' container' : ' containers');
  }

  /** The summary line, with how many rows have arrived while they are on their way. */
  function renderSummary() {
    $('summary').textContent = state.summaryText + (state.loadingText ? ' · ' + state.loadingText : '');
  }

  /** Drops ticks of workloads this report does not have (a selection saved before a reload, or kept from before). */
  function keepKnownSelection() {
    state.selected = new Set([...state.selected].filter((key) => state.workloads.has(key)));
  }

  function selectedWorkloads() {
    return state.groups.filter((group) => state.selected.has(group.key)).map((group) => (group.cluster ? { cluster: group.cluster, namespace: group.namespace, kind: group.kind, name: group.name } : { namespace: group.namespace, kind: group.kind, name: group.name }));
  }

  /** The extension answers with the totals line ("Selected: 2 workloads, …"), worded by the one formatter. */
  function selectionChanged() {
    state.planReady = false;
    $('plan').hidden = true;
    renderButtons();
    saveState();
    vscode.postMessage({ type: 'selection', workloads: selectedWorkloads() });
  }

  function showPlan(text, className, skips, choices) {
    const plan = $('plan');
    $('plan-text').replaceChildren(document.createTextNode(text));
    renderChoices(choices || []);
    plan.className = 'plan ' + (className || '');
    const list = $('plan-skips-list');
    list.replaceChildren();
    $('plan-skips').hidden = !skips || skips.lines.length === 0;
    if (skips && skips.lines.length > 0) {
      $('plan-skips-heading').textContent = skips.heading;
      for (const line of skips.lines) {
        const item = el('li', '', line);
        item.title = line;
        list.append(item);
      }
      if (skips.more > 0) list.append(el('li', 'muted', '…and ' + skips.more + ' more in the KRR output channel.'));
    }
    plan.hidden = false;
  }

  /**
   * Workloads several sources could define: each source with "Use this source", which asks the extension to propose
   * again with that pick (the extension takes only an id it listed for that workload).
   */
  function renderChoices(choices) {
    const list = $('plan-choices-list');
    list.replaceChildren();
    $('plan-choices').hidden = choices.length === 0;
    for (const choice of choices) {
      const item = el('li');
      item.append(bdi(choice.text));
      const sources = el('ul');
      for (const source of choice.sources) {
        const line = el('li');
        const use = el('button', 'link', 'Use this source');
        use.type = 'button';
        use.title = 'Propose again, editing only this source for ' + choice.text;
        use.addEventListener('click', () => {
          if (state.busy) return;
          state.busy = true;
          renderButtons();
          vscode.postMessage({ type: 'use-source', workload: choice.workload, source: source.id });
        });
        line.append(bdi(source.label), ' ', use);
        sources.append(line);
      }
      item.append(sources);
      list.append(item);
    }
  }

  function renderProblems(problems) {
    const box = $('problems');
    box.hidden = problems.total === 0;
    if (problems.total === 0) return;
    $('problems-heading').textContent = problems.heading;
    const list = $('problems-list');
    list.replaceChildren(...problems.lines.map((line) => el('li', '', line)));
    if (problems.total > problems.lines.length) list.append(el('li', 'muted', '…and ' + (problems.total - problems.lines.length) + ' more in the KRR output channel.'));
  }

  /** Inline SVG, colours from the theme (classes in review.css use --vscode-charts-*), no chart library. */
  function renderSavings(savings) {
    const figure = $('savings');
    const chart = $('savings-chart');
    figure.hidden = savings.groups.length === 0;
    chart.replaceChildren();
    if (savings.groups.length === 0) return;
    $('savings-title').textContent = 'Requests per ' + savings.by + ', now and as recommended';
    const rowHeight = 20;
    const top = 18;
    const width = 960;
    const height = top + savings.groups.length * rowHeight + 4;
    const area = { cpu: [190, 460], memory: [480, 750] };
    const max = { cpu: 0, memory: 0 };
    for (const group of savings.groups) {
      max.cpu = Math.max(max.cpu, group.cpu.current, group.cpu.recommended);
      max.memory = Math.max(max.memory, group.memory.current, group.memory.recommended);
    }
    // Drawn at its own pixel size (text stays at the editor's size); narrower panes scale it down.
    const root = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, width, height, role: 'img', 'aria-label': $('savings-title').textContent, preserveAspectRatio: 'xMinYMin meet' });
    root.append(svg('text', { x: area.cpu[0], y: 12, class: 'axis' }, 'CPU requests'), svg('text', { x: area.memory[0], y: 12, class: 'axis' }, 'memory requests'), svg('text', { x: width - 4, y: 12, class: 'axis', 'text-anchor': 'end' }, 'monthly Δ'));
    savings.groups.forEach((group, index) => {
      const y = top + index * rowHeight;
      const labelled = svg('g');
      labelled.append(svg('title', {}, group.label + ' · ' + group.workloadsText), svg('text', { x: 0, y: y + 13, class: 'label' }, group.label.length > 26 ? group.label.slice(0, 25) + '…' : group.label));
      root.append(labelled);
      for (const resource of ['cpu', 'memory']) {
        const [x0, x1] = area[resource];
        const scale = max[resource] > 0 ? (x1 - x0) / max[resource] : 0;
        const title = group[resource + 'Text'];
        for (const [kind, offset] of [['current', 2], ['recommended', 11]]) {
          const bar = svg('rect', { x: x0, y: y + offset - 1, width: Math.max(1, group[resource][kind] * scale), height: 7, rx: 1, class: 'bar ' + kind });
          bar.append(svg('title', {}, title));
          root.append(bar);
        }
      }
      root.append(svg('text', { x: width - 4, y: y + 13, class: 'money ' + (group.delta < 0 ? 'saving' : group.delta > 0 ? 'cost' : ''), 'text-anchor': 'end' }, group.deltaText));
    });
    chart.append(root);
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (message.type === 'empty') {
      $('empty').hidden = false;
      $('main').hidden = true;
      $('summary').textContent = 'No report loaded.';
      setReadOnly(message.readOnly);
    } else if (message.type === 'readOnly') {
      setReadOnly(message.readOnly);
      renderButtons();
    } else if (message.type === 'rows') {
      $('empty').hidden = true;
      $('main').hidden = false;
      const sameReport = state.reportId === message.reportId;
      // The first rows after the page loaded with a saved state: a window reload revived this panel. The report came
      // back under a new id, so the saved selection is matched by workload, and the filters and sort are taken over.
      const restoring = state.reportId === null && saved.filters !== undefined;
      // Another review: its evidence is read afresh (the extension says so with an 'evidence' message).
      if (!sameReport) resetUsage();
      state.reportId = message.reportId;
      state.stream = message.stream;
      state.loading = message.complete === false;
      state.workloads = new Map(message.workloads.map((workload) => [workload.key, workload]));
      state.marks = message.marks || {};
      state.byKey = new Map();
      state.groups = [];
      addRows(message.rows);
      // A saved or kept selection is checked against the workloads once all of them have arrived.
      if (restoring) state.selected = new Set(saved.selected || []);
      else if (!sameReport) state.selected = new Set();
      if (!state.loading) keepKnownSelection();
      state.busy = false;
      if (!sameReport) {
        state.planReady = false;
        $('plan').hidden = true;
      }
      state.summaryText = message.summaryText;
      state.loadingText = message.loadingText || '';
      renderSummary();
      // A fleet review: a cluster filter and the per-cluster totals (worded by the extension).
      const clusters = message.clusters || [];
      $('f-cluster-label').hidden = clusters.length === 0;
      fillSelect($('f-cluster'), clusters);
      // A new set of rows: the namespace and kind options are rebuilt from it (a chosen value stays if still there).
      $('clusters').hidden = clusters.length === 0;
      $('clusters').textContent = message.clustersText || '';
      // A namespace or kind chosen (or saved) whose option arrives with a later slice is chosen again then.
      state.pendingFilters = restoring && saved.filters ? saved.filters : { 'f-namespace': $('f-namespace').value, 'f-kind': $('f-kind').value };
      fillFilterOptions();
      if (restoring && saved.filters) {
        for (const id of filterIds) if (saved.filters[id] !== undefined) $(id).value = saved.filters[id];
        $('include-limits').checked = saved.includeLimits === true;
      }
      setReadOnly(message.readOnly);
      renderProblems(message.problems);
      renderSavings(message.savings);
      applyFilters();
      // The extension learns the selection once every ticked workload's rows are here.
      if (!state.loading) vscode.postMessage({ type: 'selection', workloads: selectedWorkloads() });
    } else if (message.type === 'more-rows') {
      if (message.stream !== state.stream || message.reportId !== state.reportId) return;
      // A slice brings the workloads first seen in it (the last one also those without rows).
      for (const workload of message.workloads) state.workloads.set(workload.key, workload);
      addRows(message.rows);
      state.loading = message.complete === false;
      state.loadingText = message.loadingText || '';
      renderSummary();
      if (!state.loading) keepKnownSelection();
      fillFilterOptions();
      for (const id of ['f-namespace', 'f-kind']) if (!$(id).value && state.pendingFilters && state.pendingFilters[id]) $(id).value = state.pendingFilters[id];
      applyFilters(true);
      if (!state.loading) vscode.postMessage({ type: 'selection', workloads: selectedWorkloads() });
    } else if (message.type === 'evidence') {
      if (message.reportId !== state.reportId) return;
      const was = usage.state;
      usage.state = message.state;
      const line = $('evidence');
      line.textContent = message.text;
      if (message.setting) {
        // The setting the reason names, one click away (the extension opens only krr.* settings).
        const link = el('button', 'link', 'Open ' + message.setting);
        link.type = 'button';
        link.dataset.setting = message.setting;
        link.addEventListener('click', () => vscode.postMessage({ type: 'open-setting', setting: message.setting }));
        line.append(' ', link);
      }
      line.className = 'evidence ' + message.state;
      line.hidden = false;
      if (usage.state !== was) {
        if (!usageShown()) $('usage').hidden = true;
        render();
      }
    } else if (message.type === 'usage-charts') {
      if (message.reportId !== state.reportId || !usageShown()) return;
      for (const [key, charts] of Object.entries(message.charts)) {
        usage.charts.set(key, charts);
        usage.pending.delete(key);
        const spot = usage.cells.get(key);
        if (spot) fillUsageCell(spot, key);
      }
      chooseFirst();
    } else if (message.type === 'usage-detail') {
      if (message.reportId !== state.reportId || message.key !== usage.chosen) return;
      renderDetail(message.detail);
    } else if (message.type === 'owners') {
      // GitOps owners arrive after the rows: badges are filled in without resetting the selection.
      for (const group of state.groups) if (Object.prototype.hasOwnProperty.call(message.owners, group.key)) group.owner = message.owners[group.key];
      render();
    } else if (message.type === 'totals') {
      $('totals').textContent = message.text;
    } else if (message.type === 'busy') {
      state.busy = true;
      showPlan(message.message, 'busy');
      if (typeof message.total === 'number' && message.total > 0) {
        const bar = el('progress');
        bar.max = message.total;
        bar.value = message.done;
        $('plan-text').append(' ', bar);
      }
      renderButtons();
    } else if (message.type === 'cancelled') {
      state.busy = false;
      state.planReady = false;
      showPlan(message.message, 'cancelled');
      renderButtons();
    } else if (message.type === 'plan') {
      state.busy = false;
      const plan = message.plan;
      if (!plan) {
        state.planReady = false;
        showPlan('Preview failed: ' + (message.error || 'unknown error'), 'error');
      } else {
        state.planReady = plan.objects > 0;
        state.planTarget = plan.target === 'manifests' ? 'manifests' : 'cluster';
        const failed = plan.failed !== undefined ? plan.failed : plan.objects === 0;
        showPlan(plan.text, failed ? 'error' : plan.objects > 0 ? '' : 'cancelled', { heading: plan.skipsHeading, lines: plan.skips, more: plan.moreInOutput }, plan.choices);
      }
      renderButtons();
    } else if (message.type === 'outcome') {
      state.busy = false;
      state.planReady = false;
      const outcome = message.outcome;
      // A file write is "written", never "applied": nothing reached the cluster.
      // A trial says what happened in its own words ("Trial plan-… started: …", "Trial plan-… passed: …").
      const status = message.target === 'trial' ? '' : message.target === 'manifests' && outcome.status === 'applied' ? 'written' : outcome.status;
      showPlan((status ? status + ': ' : '') + outcome.message, outcome.status === 'applied' ? 'ok' : 'error');
      if (message.commit) {
        const commit = document.createElement('button');
        commit.type = 'button';
        commit.className = 'link';
        commit.textContent = 'Commit on a New Branch…';
        commit.title = 'Commit the written files on a new branch (never pushed)';
        commit.addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'krr.commitManifests' }));
        $('plan-text').append(' ', commit);
      }
      renderButtons();
    } else if (message.type === 'written') {
      // The ticks of what was written clear; its rows already show the values now live.
      for (const key of message.keys) state.selected.delete(key);
      render();
      saveState();
      vscode.postMessage({ type: 'selection', workloads: selectedWorkloads() });
    }
  });

  function setReadOnly(readOnly) {
    state.readOnly = readOnly.readOnly;
    const banner = $('readonly');
    banner.hidden = !readOnly.readOnly;
    banner.replaceChildren();
    if (!readOnly.readOnly) return;
    if (readOnly.untrusted) {
      // Restricted Mode: the workspace's manifests are not read either, so only cluster previews work.
      banner.append('Read-only: ' + readOnly.reason + '. You can review and preview changes for the cluster; applying them and previewing the workspace\'s manifests need a trusted workspace. ');
      const manage = document.createElement('button');
      manage.type = 'button';
      manage.className = 'link';
      manage.textContent = 'Manage Workspace Trust';
      manage.addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'workbench.trust.manage' }));
      banner.append(manage);
    } else {
      banner.append('Read-only: ' + (readOnly.reason || 'writes are disabled') + '. You can review and preview; applying is disabled.');
    }
  }

  $('rows').addEventListener('change', (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.dataset.key) return;
    if (box.checked) state.selected.add(box.dataset.key);
    else state.selected.delete(box.dataset.key);
    selectionChanged();
  });
  $('rows').addEventListener('click', (event) => {
    const link = event.target;
    if (link instanceof HTMLButtonElement && link.dataset.setting) vscode.postMessage({ type: 'open-setting', setting: link.dataset.setting });
    // A container row with evidence: its large chart (the sparklines are its button, for the keyboard).
    const row = event.target instanceof Element ? event.target.closest('tr.container') : null;
    if (row && row.dataset.usage && usage.charts.get(row.dataset.usage)) choose(row.dataset.usage);
  });
  $('usage-close').addEventListener('click', () => {
    $('usage').hidden = true;
  });
  for (const id of ['f-cluster', 'f-namespace', 'f-kind', 'f-severity', 'f-sort']) $(id).addEventListener('change', applyFilters);
  // A person's own choice wins over one waiting for its option to arrive.
  for (const id of ['f-namespace', 'f-kind']) $(id).addEventListener('change', () => (state.pendingFilters = undefined));
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
    for (const group of state.visible) if (!group.workload.invalid) state.selected.add(group.key);
    render();
    selectionChanged();
  });
  $('select-none').addEventListener('click', () => {
    state.selected.clear();
    render();
    selectionChanged();
  });
  $('preview').addEventListener('click', () => vscode.postMessage({ type: 'preview', workloads: selectedWorkloads(), includeLimits: $('include-limits').checked, target: $('target').value }));
  // A plan covers requests only or requests and limits, the cluster or the manifests: changing either needs a new
  // preview (and with limits other blocks apply).
  $('include-limits').addEventListener('change', () => {
    render();
    selectionChanged();
  });
  $('target').addEventListener('change', selectionChanged);
  $('apply').addEventListener('click', () => vscode.postMessage({ type: 'apply' }));
  $('try').addEventListener('click', () => {
    const ticked = selectedWorkloads();
    if (ticked.length === 1) vscode.postMessage({ type: 'try', workload: ticked[0] });
  });
  for (const button of document.querySelectorAll('[data-command]')) {
    button.addEventListener('click', () => vscode.postMessage({ type: 'command', command: button.getAttribute('data-command') }));
  }
  for (const button of document.querySelectorAll('[data-output]')) button.addEventListener('click', () => vscode.postMessage({ type: 'show-output' }));
  vscode.postMessage({ type: 'ready' });
})();
