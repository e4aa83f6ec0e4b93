// The rows an apply or rollback wrote: the review panel shows the values now live in them, with a mark ("applied",
// its time in the tooltip), until a new report replaces them. Kept in the workspace state, so a window reload marks
// the same rows again; what comes back from there is checked entry by entry.
import type { Memento } from 'vscode';
import type { Plan } from '../core/plan/model';
import { panelCell, type PanelCell, type PanelRow } from './reviewRows';

/** What the panel remembers of an apply or rollback: the values now live, per workload (reset with a new report). */
interface Written {
  label: string;
  /** Local time of the write, for the badge's tooltip. */
  at: string;
  cells: Map<string, PanelCell>;
}

/** Where the written rows of the current report are kept (one report at a time: a new report starts afresh). */
const writtenStateKey = 'krr.review.written';

function isCell(value: unknown): value is PanelCell {
  if (typeof value !== 'object' || value === null) return false;
  const cell = value as Record<string, unknown>;
  const amount = (field: unknown) => field === null || typeof field === 'string';
  return amount(cell.from) && amount(cell.to) && (cell.percent === null || typeof cell.percent === 'number') && typeof cell.same === 'boolean';
}

/** The kept marks of one report, checked entry by entry: anything else in the workspace state is ignored. */
function savedWritten(value: unknown, reportId: string): Map<string, Written> {
  const written = new Map<string, Written>();
  if (typeof value !== 'object' || value === null) return written;
  const saved = value as { reportId?: unknown; entries?: unknown };
  if (saved.reportId !== reportId || !Array.isArray(saved.entries)) return written;
  for (const entry of saved.entries.slice(0, 10_000) as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'object' || entry[1] === null) continue;
    const { label, at, cells } = entry[1] as Record<string, unknown>;
    if ((label !== 'applied' && label !== 'rolled back') || typeof at !== 'string' || !Array.isArray(cells)) continue;
    const kept = (cells as unknown[]).filter((cell): cell is [string, PanelCell] => Array.isArray(cell) && typeof cell[0] === 'string' && isCell(cell[1]));
    written.set(entry[0], { label, at, cells: new Map(kept) });
  }
  return written;
}

const fieldOf: Record<string, 'cpuRequest' | 'cpuLimit' | 'memoryRequest' | 'memoryLimit'> = {
  'requests/cpu': 'cpuRequest',
  'limits/cpu': 'cpuLimit',
  'requests/memory': 'memoryRequest',
  'limits/memory': 'memoryLimit',
};

export class WrittenMarks {
  private readonly written = new Map<string, Written>();

  constructor(private readonly memento: Memento | undefined) {}

  /** A new report: its own marks only, as kept in the workspace state (none for a report never written to). */
  restore(reportId: string): void {
    this.written.clear();
    // A window reload: the rows this report's applies and rollbacks wrote are marked again.
    for (const [key, entry] of savedWritten(this.memento?.get(writtenStateKey), reportId)) this.written.set(key, entry);
  }

  /** The row with the values written into it (the row itself when nothing was written there). */
  apply(row: PanelRow): PanelRow {
    const written = this.written.get(row.workload);
    if (!written) return row;
    const copy = { ...row };
    for (const field of Object.values(fieldOf)) {
      const cell = written.cells.get(`${row.container}\u0000${field}`);
      if (cell) copy[field] = cell;
    }
    return copy;
  }

  /**
   * Marks the workloads of `writtenKeys` with the plan's `to` values (which the apply verified), compared against the
   * values the rows showed before.
   */
  record(plan: Plan, writtenKeys: ReadonlySet<string>, keyOf: (object: Plan['objects'][number]) => string, rows: readonly PanelRow[]): void {
    // The badge stays short ("applied"); its tooltip says when.
    const label = plan.kind === 'apply' ? 'applied' : 'rolled back';
    const at = new Date().toLocaleTimeString();
    for (const object of plan.objects) {
      const key = keyOf(object);
      if (!writtenKeys.has(key)) continue;
      const entry: Written = this.written.get(key) ?? { label, at, cells: new Map() };
      entry.label = label;
      entry.at = at;
      for (const change of object.changes) {
        const field = fieldOf[`${change.allocation}/${change.resource}`] as keyof Pick<PanelRow, 'cpuRequest'>;
        const row = rows.find((candidate) => candidate.workload === key && candidate.container === change.container);
        entry.cells.set(`${change.container}\u0000${field}`, panelCell(change.to, row ? row[field].to : change.to));
      }
      this.written.set(key, entry);
    }
  }

  /** Keeps the marks of `reportId` in the workspace state (one report at a time). */
  save(reportId: string): void {
    const entries = [...this.written].map(([key, entry]) => [key, { label: entry.label, at: entry.at, cells: [...entry.cells] }]);
    void this.memento?.update(writtenStateKey, { reportId, entries });
  }

  /** The badges the rows message carries, per workload key. */
  marks(): Record<string, { label: string; title: string }> {
    return Object.fromEntries([...this.written].map(([key, entry]) => [key, { label: entry.label, title: `${entry.label} at ${entry.at}: the values shown are the ones written` }]));
  }

  /** For the panel's viewState (extension-host tests). */
  view(): Record<string, { label: string; cells: Record<string, PanelCell> }> {
    return Object.fromEntries([...this.written].map(([key, entry]) => [key, { label: entry.label, cells: Object.fromEntries(entry.cells) }]));
  }
}
