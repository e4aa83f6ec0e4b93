// A manifest plan as the state directory keeps it (src/core/gitops/stored.ts): no workspace file content beyond the
// changed lines, and rebuilt only when every file still is what the plan was built from and the rebuilt content is
// exactly what was approved.
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ManifestPlan } from '../../src/core/gitops/model';
import { manifestPlanDigest } from '../../src/core/gitops/propose';
import { applyLineHunks, lineHunks, restoreManifestPlan, storedManifestPlan } from '../../src/core/gitops/stored';
import { sha256 } from '../../src/core/gitops/workspace';

const before = ['# sized by hand', 'kind: Deployment', 'resources:', '  requests:', "    cpu: '500m'", '---', 'kind: Secret', 'stringData:', '  password: hunter2', ''].join('\n');
const after = before.replace("cpu: '500m'", "cpu: '250m'\n    memory: 384Mi");

describe('gitops: stored manifest plans', () => {
  let root: string;
  beforeEach(() => {
    root = realpathSync(mkdtempSync(path.join(tmpdir(), 'krr-stored-')));
    writeFileSync(path.join(root, 'app.yaml'), before);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function plan(): ManifestPlan {
    const files = [
      { folder: 'ws', folderRoot: root, path: 'app.yaml', beforeHash: sha256(before), before, after, afterHash: sha256(after), edits: [{ line: 5, field: 'resources.requests.cpu', from: '500m', to: '250m' }] },
      { folder: 'ws', folderRoot: root, path: 'patch.yaml', beforeHash: null, before: null, after: 'kind: Deployment\n', afterHash: sha256('kind: Deployment\n'), edits: [] },
    ];
    const body = { id: 'plan-0123456789ab', target: 'manifests' as const, context: null, createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString(), requestedBy: { type: 'model' as const, via: 'test' }, folders: [{ name: 'ws', root }], files, workloads: [], unresolved: [], warnings: [] };
    return { ...body, digest: manifestPlanDigest(body) };
  }

  it('line hunks rebuild the new text, and keep only the changed lines', () => {
    const hunks = lineHunks(before.split('\n'), after.split('\n'));
    assert.deepEqual(hunks, [{ start: 4, count: 1, lines: ["    cpu: '250m'", '    memory: 384Mi'] }]);
    assert.equal(applyLineHunks(before.split('\n'), hunks ?? []), after);
    assert.equal(applyLineHunks(['a'], [{ start: 0, count: 2, lines: [] }]), null, 'a hunk beyond the end does not fit');
  });

  it('stores no unchanged line (a Secret beside the edit stays in the workspace); a created file whole', () => {
    const stored = JSON.stringify(storedManifestPlan(plan()));
    assert.ok(!stored.includes('hunter2'));
    assert.ok(!stored.includes('sized by hand'));
    assert.ok(stored.includes("cpu: '250m'"));
    assert.ok(stored.includes('kind: Deployment\\n'));
  });

  it('rebuilds the plan with the same digest from the workspace as it is', async () => {
    const original = plan();
    const restored = await restoreManifestPlan(storedManifestPlan(original), [root]);
    assert.ok(restored.ok);
    assert.deepEqual(restored.plan, original);
  });

  it('refuses: a file changed since the proposal (stale), a folder this process was not given, edits that do not rebuild the approved content', async () => {
    const stored = storedManifestPlan(plan());
    assert.deepEqual(await restoreManifestPlan(stored, [path.join(root, 'elsewhere')]), { ok: false, stale: false, reason: `its folder ${root} is not a workspace folder of this server (--workspace)` });
    const tampered = structuredClone(stored);
    (tampered.files[0]?.hunks?.[0] as { lines: string[] }).lines[0] = "    cpu: '4'";
    const rebuilt = await restoreManifestPlan(tampered, [root]);
    assert.equal(rebuilt.ok, false);
    assert.match(rebuilt.ok ? '' : rebuilt.reason, /do not rebuild the approved content/);
    const created = structuredClone(stored);
    (created.files[1] as { created: string }).created = 'kind: Secret\n';
    assert.match((await restoreManifestPlan(created, [root]).then((result) => (result.ok ? '' : result.reason))), /stored content of patch\.yaml does not match/);
    writeFileSync(path.join(root, 'app.yaml'), `${before}# changed\n`);
    const stale = await restoreManifestPlan(stored, [root]);
    assert.deepEqual(stale, { ok: false, stale: true, reason: 'app.yaml changed since the proposal' });
  });
});
