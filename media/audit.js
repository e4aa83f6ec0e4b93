/* global Option */
// Audit log view: filters and renders the rows the extension worded (src/core/auditTable.ts), newest first.
// Everything is built with textContent (never innerHTML), so names from a cluster or an MCP client cannot inject markup.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const state = { rows: [], total: 0, shown: 0 };
  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };
  const entries = (n) => n.toLocaleString('en-US') + (n === 1 ? ' entry' : ' entries');
  const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

  function fillSelect(select, values) {
    const current = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const value of values) select.add(new Option(value, value));
    select.value = values.includes(current) ? current : '';
  }

  function render() {
    const who = $('f-who').value;
    const action = $('f-action').value;
    const tone = $('f-tone').value;
    const text = $('f-text').value.trim().toLowerCase();
    const body = $('rows');
    body.replaceChildren();
    let matching = 0;
    for (const row of state.rows) {
      if (who && row.who !== who) continue;
      if (action && row.action !== action) continue;
      if (tone && row.tone !== tone) continue;
      if (text && !(row.objects + ' ' + row.context + ' ' + row.planId + ' ' + row.via + ' ' + row.detail).toLowerCase().includes(text)) continue;
      matching += 1;
      const tr = el('tr', 'tone-' + row.tone);
      const time = el('td', 'time', timeFormat.format(new Date(row.time)));
      time.title = row.time + ' · entry ' + row.seq;
      tr.append(time, el('td', '', row.who), el('td', '', row.via));
      const act = el('td', 'action', row.action);
      tr.append(act);
      const objects = el('td', 'objects', row.objects || '–');
      objects.title = row.objects;
      tr.append(objects);
      const outcome = el('td', 'outcome');
      outcome.append(el('span', 'badge', row.outcome));
      if (row.detail) {
        const detail = el('div', 'detail', row.detail);
        outcome.append(detail);
      }
      tr.append(outcome);
      tr.append(el('td', 'where', [row.context, row.planId].filter(Boolean).join(' · ') || '–'));
      body.append(tr);
    }
    const limited = state.shown < state.total ? ' (the newest ' + state.shown.toLocaleString('en-US') + '; the raw JSONL and the export hold all of them)' : '';
    $('count').textContent = matching === state.rows.length ? entries(state.rows.length) + ' shown' + limited : matching.toLocaleString('en-US') + ' of ' + entries(state.rows.length) + ' match the filters' + limited;
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (!message || typeof message !== 'object') return;
    if (message.type === 'error') {
      $('summary').textContent = 'Could not read the audit log: ' + String(message.message);
      return;
    }
    if (message.type !== 'rows' || !Array.isArray(message.rows)) return;
    state.rows = message.rows;
    state.total = Number(message.total) || 0;
    state.shown = Number(message.shown) || 0;
    const chain = message.chain || {};
    $('summary').textContent = entries(state.total) + ' in the log, newest first. Who asked, through what, and what happened — worded from each entry.';
    const banner = $('chain');
    banner.hidden = chain.valid !== false;
    banner.textContent = chain.valid === false ? 'The hash chain is broken' + (chain.firstBrokenLine ? ' at line ' + chain.firstBrokenLine : '') + (chain.problem ? ' (' + chain.problem + ')' : '') + ': the log was modified. Writes are refused until it is moved aside.' : '';
    fillSelect($('f-who'), [...new Set(state.rows.map((row) => row.who))].sort());
    fillSelect($('f-action'), [...new Set(state.rows.map((row) => row.action))].sort());
    render();
  });

  for (const id of ['f-who', 'f-action', 'f-tone']) $(id).addEventListener('change', render);
  $('f-text').addEventListener('input', render);
  $('filters').addEventListener('submit', (event) => event.preventDefault());
  $('raw').addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'krr.showAuditLogRaw' }));
  $('verify').addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'krr.verifyAuditLog' }));
  $('export').addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'krr.exportAuditLog' }));
  vscode.postMessage({ type: 'ready' });
})();
