import assert from 'node:assert/strict';
import { gateValue, readOnlyFromLayers, type SettingLayers } from '../../src/core/session/settingsScope';
import { readSessionSettings } from '../../src/editor/settings';

/** A settings store with a user layer and a workspace layer over the package.json defaults the schema has. */
function layered(user: Record<string, unknown>, workspace: Record<string, unknown>, folder: Record<string, unknown> = {}) {
  const inspect = (key: string): SettingLayers => ({ globalValue: user[key], workspaceValue: workspace[key], workspaceFolderValue: folder[key] });
  // What VS Code's get() returns: the most specific layer wins (the loophole this merge closes).
  const get = (key: string): unknown => folder[key] ?? workspace[key] ?? user[key];
  return { inspect, get };
}

describe('settings a workspace can only tighten (.vscode/settings.json in a trusted workspace)', () => {
  it('ignores a workspace krr.kubectlPath, krr.krrPath, krr.kubeconfig and krr.prometheusUrl', () => {
    const { get, inspect } = layered(
      { kubectlPath: '/usr/local/bin/kubectl' },
      { kubectlPath: './tools/kubectl-wrapper', krrPath: './krr', kubeconfig: './kubeconfig', prometheusUrl: 'https://attacker.example' },
    );
    const settings = readSessionSettings(get, true, inspect);
    assert.equal(settings.kubectlPath, '/usr/local/bin/kubectl');
    assert.equal(settings.krrPath, 'krr');
    assert.equal(settings.kubeconfig, undefined);
    assert.equal(settings.prometheusUrl, undefined);
    // Without the layers (the old reading), the workspace wins: the test would fail without the merge.
    assert.equal(readSessionSettings(get, true).kubectlPath, './tools/kubectl-wrapper');
  });

  it('krr.readOnly: the workspace can turn it on but not off', () => {
    const off = layered({ readOnly: true }, { readOnly: false }, { readOnly: false });
    assert.equal(readSessionSettings(off.get, true, off.inspect).readOnly, true);
    const on = layered({ readOnly: false }, { readOnly: true });
    assert.equal(readSessionSettings(on.get, true, on.inspect).readOnly, true);
    const none = layered({}, {});
    assert.equal(readSessionSettings(none.get, true, none.inspect).readOnly, false);
    assert.equal(readOnlyFromLayers({ globalValue: true, workspaceValue: false }), true);
  });

  it('confirmByTyping and protectedNamespaces: an empty workspace list removes nothing; a workspace may add', () => {
    const { get, inspect } = layered({ confirmByTyping: ['*prod*'] }, { confirmByTyping: [], 'policy.protectedNamespaces': ['payments'] });
    const settings = readSessionSettings(get, true, inspect);
    assert.deepEqual(settings.confirmByTyping, ['*prod*']);
    // No user value: the package default stays and the workspace's namespace is added.
    assert.deepEqual(gateValue('union', { defaultValue: ['kube-system'], workspaceValue: [] }), ['kube-system']);
    assert.deepEqual(settings.policy.protectedNamespaces, ['kube-system', 'kube-public', 'kube-node-lease', 'payments']);
    assert.deepEqual(gateValue('union', { defaultValue: ['kube-system'], workspaceValue: ['payments', 'kube-system'] }), ['kube-system', 'payments']);
  });

  it('numbers: limits only go down, minimums and the decline cool-down only go up, timeouts only shorten', () => {
    const { get, inspect } = layered(
      { 'policy.maxDecreasePercent': 50, approvalTimeoutSeconds: 60, declineCooldownSeconds: 300 },
      { 'policy.maxDecreasePercent': 100, 'policy.maxIncreasePercent': 100000, 'policy.minCpuMillicores': 0, approvalTimeoutSeconds: 3600, planTtlSeconds: 30, declineCooldownSeconds: 0 },
    );
    const settings = readSessionSettings(get, true, inspect);
    assert.equal(settings.policy.maxDecreasePercent, 50);
    assert.equal(settings.policy.maxIncreasePercent, 500, 'the default stays when the workspace raises it');
    assert.equal(settings.policy.minCpuMillicores, 10);
    assert.equal(settings.approvalTimeoutSeconds, 60);
    assert.equal(settings.planTtlSeconds, 30, 'a shorter plan lifetime is stricter');
    assert.equal(settings.declineCooldownSeconds, 300);
    assert.equal(gateValue('min', { defaultValue: 80, workspaceValue: 20 }), 20);
    assert.equal(gateValue('max', { defaultValue: 10, workspaceFolderValue: 50 }), 50);
  });

  it('a workspace value of the wrong type fails closed: the setting is named, nothing is loosened', () => {
    const { get, inspect } = layered({ readOnly: true }, { readOnly: 'no', 'policy.maxDecreasePercent': '100' });
    assert.throws(() => readSessionSettings(get, true, inspect), /krr\.(readOnly|policy\.maxDecreasePercent)/);
  });

  it('other settings keep VS Code resolution (workspace over user)', () => {
    const { get, inspect } = layered({ context: 'dev', applyConcurrency: 4 }, { context: 'prod-eu-1', applyConcurrency: 2 });
    const settings = readSessionSettings(get, true, inspect);
    assert.equal(settings.context, 'prod-eu-1');
    assert.equal(settings.applyConcurrency, 2);
  });
});
