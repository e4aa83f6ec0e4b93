// The server-side apply baseline of `npm run bench` (bench/apply.ts) must write exactly the plan's changes: a partial
// manifest with the object's identity and only the values that change, never a whole container or a removal it cannot express.
import assert from 'node:assert/strict';
import { partialManifest } from '../../bench/apply';
import type { ObjectChange } from '../../src/core/plan/model';

function change(changes: Array<Pick<ObjectChange['changes'][number], 'container' | 'allocation' | 'resource' | 'to'>>): ObjectChange {
  return {
    namespace: 'shop',
    kind: 'Deployment',
    name: 'frontend',
    apiVersion: 'apps/v1',
    changes: changes.map((entry) => ({ ...entry, from: '1', fromAmount: 1, toAmount: entry.to === null ? null : 1 })),
  } as ObjectChange;
}

describe('bench: the server-side apply baseline\'s partial manifests', () => {
  it('carry the identity and only the changed values, grouped by container', () => {
    const manifest = partialManifest(change([
      { container: 'app', allocation: 'requests', resource: 'cpu', to: '150m' },
      { container: 'app', allocation: 'requests', resource: 'memory', to: '300Mi' },
      { container: 'sidecar', allocation: 'limits', resource: 'memory', to: '64Mi' },
    ]));
    assert.deepEqual(manifest, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { namespace: 'shop', name: 'frontend' },
      spec: { template: { spec: { containers: [
        { name: 'app', resources: { requests: { cpu: '150m', memory: '300Mi' } } },
        { name: 'sidecar', resources: { limits: { memory: '64Mi' } } },
      ] } } },
    });
  });

  it('refuses a removal, which a partial manifest cannot express for a field another manager owns', () => {
    assert.throws(() => partialManifest(change([{ container: 'app', allocation: 'limits', resource: 'cpu', to: null }])), /removing limits\.cpu has no partial-manifest form/);
  });
});
