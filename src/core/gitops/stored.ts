// A manifest plan as the state directory keeps it (session/store.ts), so that a stdio server started per call can
// apply a plan another process proposed. The workspace files themselves are never copied there: a file that holds a
// Secret document or a Helm password would otherwise leave the workspace. Per file only its hashes, the edits and the
// changed lines (hunks over the proposal-time text) are kept; a file the plan creates (a Kustomize patch we write,
// nothing but resources) is kept whole. Reading the plan back re-reads each file from the workspace, checks its hash
// and rebuilds the new content, which must hash to the approved afterHash.
import { manifestPlanDigest } from './propose';
import type { ManifestFileChange, ManifestPlan } from './model';
import { readManifestText, sha256, WorkspaceInputError } from './workspace';

/** Replace `count` lines of the original starting at `start` (0-based) with `lines`. */
export interface LineHunk {
  start: number;
  count: number;
  lines: string[];
}

export type StoredManifestFile = Omit<ManifestFileChange, 'before' | 'after'> & { hunks: LineHunk[] | null; created: string | null };
export type StoredManifestPlan = Omit<ManifestPlan, 'files'> & { files: StoredManifestFile[] };

/** More changed lines than this in one file and the plan is not kept (it stays usable in this process). */
const maxChangedLines = 2000;

export class ManifestPlanNotStored extends Error {
  override readonly name = 'ManifestPlanNotStored';
}

/** The stored form: no file content beyond the lines the plan changes. Throws ManifestPlanNotStored when too large. */
export function storedManifestPlan(plan: ManifestPlan): StoredManifestPlan {
  const files = plan.files.map((file): StoredManifestFile => {
    const { before, after, ...rest } = file;
    if (before === null) return { ...rest, hunks: null, created: after };
    const hunks = lineHunks(before.split('\n'), after.split('\n'));
    if (hunks === null) throw new ManifestPlanNotStored(`${file.path} changes more than ${maxChangedLines} lines`);
    return { ...rest, hunks, created: null };
  });
  return { ...plan, files };
}

/** `stale`: a file changed since the proposal (the plan was fine); otherwise the plan cannot be used by this process. */
export type RestoredManifestPlan = { ok: true; plan: ManifestPlan } | { ok: false; stale: boolean; reason: string };

/**
 * Rebuilds a stored plan from the workspace as it is now. `roots` are this process's workspace folders: a plan for a
 * folder this process was not given is not usable here. A file that changed since the proposal makes the plan stale.
 */
export async function restoreManifestPlan(stored: StoredManifestPlan, roots: readonly string[]): Promise<RestoredManifestPlan> {
  const files: ManifestFileChange[] = [];
  for (const file of stored.files) {
    const { hunks, created, ...rest } = file;
    if (!roots.includes(file.folderRoot)) return { ok: false, stale: false, reason: `its folder ${file.folderRoot} is not a workspace folder of this server (--workspace)` };
    if (file.beforeHash === null) {
      if (created === null || sha256(created) !== file.afterHash) return { ok: false, stale: false, reason: `the stored content of ${file.path} does not match the plan` };
      files.push({ ...rest, before: null, after: created });
      continue;
    }
    let current: { text: string; hash: string };
    try {
      current = await readManifestText({ name: file.folder, root: file.folderRoot }, file.path);
    } catch (error) {
      if (error instanceof WorkspaceInputError) return { ok: false, stale: true, reason: `${file.path}: ${error.message}` };
      throw error;
    }
    if (current.hash !== file.beforeHash) return { ok: false, stale: true, reason: `${file.path} changed since the proposal` };
    const after = hunks === null ? null : applyLineHunks(current.text.split('\n'), hunks);
    if (after === null || sha256(after) !== file.afterHash) return { ok: false, stale: false, reason: `the stored edits of ${file.path} do not rebuild the approved content` };
    files.push({ ...rest, before: current.text, after });
  }
  const plan: ManifestPlan = { ...stored, files };
  if (manifestPlanDigest(plan) !== plan.digest) return { ok: false, stale: false, reason: 'its digest does not match its files and workloads' };
  return { ok: true, plan };
}

/**
 * The changed lines from `a` to `b` (Myers' diff, bounded): hunks against `a`, in order. Null when more than
 * maxChangedLines lines differ. Manifest edits change a few values, so the search stays short.
 */
export function lineHunks(a: readonly string[], b: readonly string[]): LineHunk[] | null {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxChangedLines);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number)) ? (v[offset + k + 1] as number) : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return null;
  // Walk back through the trace: each step is one deleted line of a or one inserted line of b.
  const steps: Array<{ type: 'delete'; x: number } | { type: 'insert'; x: number; y: number }> = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const previous = trace[d] as Int32Array;
    const k = x - y;
    const down = k === -d || (k !== d && (previous[offset + k - 1] as number) < (previous[offset + k + 1] as number));
    const previousK = down ? k + 1 : k - 1;
    const previousX = previous[offset + previousK] as number;
    const previousY = previousX - previousK;
    while (x > previousX && y > previousY) {
      x--;
      y--;
    }
    if (down) steps.push({ type: 'insert', x: previousX, y: previousY });
    else steps.push({ type: 'delete', x: previousX });
    x = previousX;
    y = previousY;
  }
  steps.reverse();
  const hunks: LineHunk[] = [];
  for (const step of steps) {
    const last = hunks.at(-1);
    const at = step.x;
    const hunk = last && last.start + last.count === at ? last : undefined;
    if (step.type === 'delete') {
      if (hunk) hunk.count += 1;
      else hunks.push({ start: at, count: 1, lines: [] });
    } else {
      const line = b[step.y] as string;
      if (hunk) hunk.lines.push(line);
      else hunks.push({ start: at, count: 0, lines: [line] });
    }
  }
  return hunks;
}

/** `a` with the hunks applied, joined with '\n'; null when a hunk does not fit (out of order or beyond the end). */
export function applyLineHunks(a: readonly string[], hunks: readonly LineHunk[]): string | null {
  const out: string[] = [];
  let at = 0;
  for (const hunk of hunks) {
    if (hunk.start < at || hunk.start + hunk.count > a.length) return null;
    out.push(...a.slice(at, hunk.start), ...hunk.lines);
    at = hunk.start + hunk.count;
  }
  out.push(...a.slice(at));
  return out.join('\n');
}
