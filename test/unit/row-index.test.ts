// The row index behind krr_list_recommendations and the review panel: whatever it caches (sort orders, per-cluster
// orders, totals per filter, name matches) and wherever it stops early, a page equals a plain filter + sort + slice.
import assert from 'node:assert/strict';
import { severityOrder, type Severity, type WorkloadKind } from '../../src/core/krr/model';
import { RowIndex, type IndexedRow } from '../../src/core/recommendations';
import type { RecommendationQuery } from '../../src/core/model';
import { matchesGlob } from '../../src/core/settings';

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const random = seeded(7);
const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const kinds: WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet', 'GroupedJob'];
const rows: IndexedRow[] = Array.from({ length: 3000 }, (_, index) => {
  const quantity = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: null, memory: null } };
  return {
    cluster: pick(['eu', 'us', 'ap', null]),
    namespace: pick(['shop', 'data', 'batch', 'web']),
    kind: pick(kinds),
    name: `${pick(['api', 'web', 'worker', 'db'])}-${index % 97}`,
    container: pick(['main', 'sidecar']),
    current: quantity,
    recommended: quantity,
    severity: pick(severityOrder),
    monthlyCostDelta: random() < 0.1 ? null : Math.round((random() - 0.7) * 10000) / 100,
    notes: [],
    patchable: true,
    largestChangePercent: Math.round(random() * 100),
  };
});

function reference(query: Omit<RecommendationQuery, 'reportId'>) {
  const minSeverity = query.minSeverity ? severityOrder.indexOf(query.minSeverity) : 0;
  const pattern = query.name ? (/[*?]/.test(query.name) ? query.name : `*${query.name}*`) : null;
  const matching = rows.filter(
    (row) =>
      (query.cluster === undefined || row.cluster === query.cluster) &&
      (!query.namespace || row.namespace === query.namespace) &&
      (!query.kind || row.kind.toLowerCase() === query.kind.toLowerCase()) &&
      severityOrder.indexOf(row.severity) >= minSeverity &&
      (query.minChangePercent === undefined || row.largestChangePercent >= query.minChangePercent) &&
      (!pattern || matchesGlob(row.name, pattern)),
  );
  const collator = new Intl.Collator();
  const byName = (a: IndexedRow, b: IndexedRow) => collator.compare(a.namespace, b.namespace) || collator.compare(a.name, b.name) || collator.compare(a.container, b.container) || collator.compare(a.cluster ?? '', b.cluster ?? '');
  const rank = (severity: Severity) => severityOrder.indexOf(severity);
  const sorted = [...matching].sort(
    query.sort === 'name' ? byName : query.sort === 'severity' ? (a, b) => rank(b.severity) - rank(a.severity) || byName(a, b) : (a, b) => (a.monthlyCostDelta ?? Infinity) - (b.monthlyCostDelta ?? Infinity) || byName(a, b),
  );
  const pageSize = query.pageSize ?? 20;
  const page = query.page ?? 1;
  const cost = matching.reduce((sum, row) => sum + (row.monthlyCostDelta ?? 0), 0);
  return { keys: sorted.slice((page - 1) * pageSize, page * pageSize).map(key), total: matching.length, cost: Math.round(cost * 100) / 100 };
}

function key(row: { cluster: string | null; namespace: string; kind: string; name: string; container: string; monthlyCostDelta: number | null }): string {
  return `${row.cluster}/${row.namespace}/${row.kind}/${row.name}/${row.container}/${row.monthlyCostDelta}`;
}

describe('row index', () => {
  it('every page equals filter + sort + slice, whatever was cached before (500 random queries, repeated)', () => {
    const index = new RowIndex(rows);
    const queries: Array<Omit<RecommendationQuery, 'reportId'>> = Array.from({ length: 250 }, () => ({
      sort: pick(['savings', 'severity', 'name'] as const),
      pageSize: pick([5, 20, 50]),
      page: pick([1, 1, 2, 7]),
      ...(random() < 0.4 ? { cluster: pick(['eu', 'us', 'nowhere']) } : {}),
      ...(random() < 0.3 ? { namespace: pick(['shop', 'data']) } : {}),
      ...(random() < 0.3 ? { kind: pick(['deployment', 'GroupedJob']) } : {}),
      ...(random() < 0.3 ? { name: pick(['api', 'w*r', 'db-1?']) } : {}),
      ...(random() < 0.3 ? { minSeverity: pick(['OK', 'CRITICAL'] as const) } : {}),
      ...(random() < 0.2 ? { minChangePercent: pick([10, 50]) } : {}),
    }));
    // Twice: the second round hits every cache (orders, totals per filter, name matches) and the early stop.
    for (const query of [...queries, ...queries]) {
      const page = index.query(query);
      const expected = reference(query);
      assert.deepEqual(page.rows.map(key), expected.keys, JSON.stringify(query));
      assert.equal(page.total, expected.total, JSON.stringify(query));
      assert.equal(page.totals?.fleet.rows, expected.total);
      assert.ok(Math.abs((page.totals?.fleet.monthlyCostDelta ?? 0) - expected.cost) < 0.011, JSON.stringify(query));
      assert.equal(page.totals?.clusters.reduce((sum, cluster) => sum + cluster.rows, 0), expected.total);
    }
  });

  it('a page returned to a caller is its own: changing it does not change the next answer', () => {
    const index = new RowIndex(rows);
    const first = index.query({ cluster: 'eu' });
    first.totals?.clusters.splice(0);
    if (first.totals) first.totals.fleet.rows = -1;
    const second = index.query({ cluster: 'eu' });
    assert.equal(second.totals?.fleet.rows, second.total);
    assert.equal(second.totals?.clusters.length, 1);
  });
});
