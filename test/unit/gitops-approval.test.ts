// The dialog's words for a manifest plan (src/core/gitops/approval.ts), computed from the plan alone: the environment
// first, each workload's rendered values before → after, then the files with the line of each edit.
import assert from 'node:assert/strict';
import { manifestApprovalText } from '../../src/core/gitops/approval';
import type { ManifestPlan, ManifestWorkload } from '../../src/core/gitops/model';
import type { FieldChange } from '../../src/core/plan/model';
import { withoutIsolates } from '../../src/core/text';

const person = { type: 'human' as const, via: 'test' };
const now = new Date('2026-01-01T00:00:00Z');
const patchPath = 'overlays/prod/krr-deployment-web-resources.yaml';
const cpuField = 'spec.template.spec.containers[app].resources.requests.cpu';

function cpuChange(from: string | null, to: string, container = 'app'): FieldChange {
  return { container, allocation: 'requests', resource: 'cpu', from, to, fromAmount: null, toAmount: null };
}

function workload(overrides: Partial<ManifestWorkload> = {}): ManifestWorkload {
  return {
    namespace: 'shop',
    kind: 'Deployment',
    name: 'web',
    source: { finder: 'kustomize', label: 'ws/overlays/prod (Kustomize)', folder: 'ws', guess: false },
    files: [
      { folder: 'ws', path: patchPath, edits: [{ line: 14, field: cpuField, from: null, to: '40m' }] },
      { folder: 'ws', path: 'overlays/prod/kustomization.yaml', edits: [{ line: 6, field: 'patches', from: null, to: '- path: krr-deployment-web-resources.yaml' }] },
    ],
    // The base renders 100m: the overlay patch adds the key, the workload's value goes from 100m to 40m.
    changes: [cpuChange('100m', '40m')],
    notes: [],
    ...overrides,
  };
}

function plan(workloads: ManifestWorkload[]): ManifestPlan {
  const files = workloads.flatMap((entry) => entry.files).map((file) => ({ folder: file.folder, folderRoot: '/w', path: file.path, beforeHash: file.path.endsWith('kustomization.yaml') ? 'b'.repeat(64) : null, before: null, after: '', afterHash: 'a'.repeat(64), edits: file.edits }));
  return { id: 'plan-0123456789ab', digest: 'd'.repeat(64), target: 'manifests', context: null, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 600_000).toISOString(), requestedBy: { type: 'model', via: 'test' }, folders: [{ name: 'ws', root: '/w' }], files, workloads, unresolved: [], warnings: [] };
}

describe('gitops: the approval dialog of a manifest plan', () => {
  it('an overlay patch adding requests.cpu where the base rendered 100m: the environment, then 100m → 40m, then the files with real lines', () => {
    const detail = withoutIsolates(manifestApprovalText(plan([workload()]), person, now).detail);
    const lines = detail.split('\n');
    assert.deepEqual(lines.slice(0, 4), ['Proposed by the AI chat (test).', 'Write requested by you (test).', 'Deployment shop/web in ws/overlays/prod (Kustomize)', '   app requests.cpu 100m → 40m (rendered; was inherited, now set in the file)'], detail);
    assert.ok(lines.indexOf('Deployment shop/web in ws/overlays/prod (Kustomize)') < lines.indexOf(`ws/${patchPath} (new file):`), detail);
    assert.ok(lines.includes(`   line 14: ${cpuField} (new key) → 40m`), detail);
    assert.ok(lines.includes('   line 6: patches (new entry) → - path: krr-deployment-web-resources.yaml'), detail);
    assert.doesNotMatch(detail, /\(added\)|←/);
  });

  it('a value the file itself held reads as rendered only; an unset one as (unset); a guess says so', () => {
    const inPlace = workload({
      source: { finder: 'helm', label: 'ws/charts/web (Helm, values.yaml)', folder: 'ws', guess: true },
      files: [{ folder: 'ws', path: 'charts/web/values.yaml', edits: [{ line: 9, field: 'resources.requests.cpu', from: '300m', to: '250m' }, { line: 10, field: 'resources.limits.memory', from: null, to: '1Gi' }] }],
      changes: [cpuChange('300m', '250m'), { container: 'app', allocation: 'limits', resource: 'memory', from: null, to: '1Gi', fromAmount: null, toAmount: null }],
    });
    const detail = withoutIsolates(manifestApprovalText(plan([inPlace]), person, now).detail);
    assert.ok(detail.includes('Deployment shop/web in ws/charts/web (Helm, values.yaml) (a guess: check it)\n'), detail);
    assert.ok(detail.includes('\n   app requests.cpu 300m → 250m (rendered)\n'), detail);
    assert.ok(detail.includes('\n   app limits.memory (unset) → 1Gi (rendered)\n'), detail);
    assert.ok(detail.includes('\n   line 9: resources.requests.cpu 300m → 250m\n'), detail);
  });

  it('names and values with hidden characters are shown as codes; workloads and values are bounded', () => {
    const hidden = workload({ name: 'w\u202Eeb', source: { finder: 'kustomize', label: 'ws/overlays/p\u200Brod (Kustomize)', folder: 'ws', guess: false }, changes: [cpuChange('100m', '40m', 'a\u200Bpp')] });
    const detail = manifestApprovalText(plan([hidden]), person, now).detail;
    assert.ok(!/[\u200B\u202E]/.test(detail), detail);
    assert.ok(withoutIsolates(detail).includes('Deployment shop/w⟨U+202E⟩eb in ws/overlays/p⟨U+200B⟩rod (Kustomize)\n'), detail);
    assert.ok(withoutIsolates(detail).includes('\n   a⟨U+200B⟩pp requests.cpu 100m → 40m'), detail);

    const many = Array.from({ length: 14 }, (_, index) => workload({ name: `web-${index}`, files: [], changes: Array.from({ length: 10 }, (_, step) => cpuChange(`${step + 100}m`, '40m', `c${step}`)) }));
    const bounded = withoutIsolates(manifestApprovalText(plan(many), person, now).detail);
    assert.equal(bounded.match(/^Deployment shop\/web-\d+ in /gmu)?.length, 12);
    assert.ok(bounded.includes('\n…and 2 more workloads (see the diff).\n'), bounded);
    assert.equal(bounded.match(/^ {3}…and 2 more values \(see the diff\)$/gmu)?.length, 12);
  });
});
