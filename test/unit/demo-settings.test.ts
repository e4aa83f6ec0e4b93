// The demo and the UI tests run the extension with the settings startKrrEnvironment writes: those must only point it
// at the test cluster and the krr stand-in, never loosen the product (issue 15: the demo once set
// krr.confirmByTyping to [] and approved a write to prod-eu-1 with one Enter).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startKrrEnvironment } from '../e2e/lib/krrEnvironment';

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { scope?: string }> } };
};

describe('the demo environment ships the product as it is', () => {
  it('sets only the machine-scoped paths and the context, so every policy setting keeps its default', async () => {
    const environment = await startKrrEnvironment({ light: true });
    try {
      const krrKeys = Object.keys(environment.settings).filter((key) => key.startsWith('krr.')).sort();
      assert.deepEqual(krrKeys, ['krr.context', 'krr.krrPath', 'krr.kubeconfig', 'krr.kubectlPath']);
      // The paths decide what runs, not what is allowed; the context is the demo cluster's name.
      for (const key of krrKeys.filter((key) => key !== 'krr.context')) assert.equal(manifest.contributes.configuration.properties[key]?.scope, 'machine', key);
      // The typed confirmation's default covers the demo's context.
      assert.match(String(environment.settings['krr.context']), /prod/);
    } finally {
      await environment.dispose();
    }
  });

  it('a test that needs a looser setting has to ask for it', async () => {
    const environment = await startKrrEnvironment({ light: true, settings: { 'krr.confirmByTyping': [] } });
    try {
      assert.deepEqual(environment.settings['krr.confirmByTyping'], []);
    } finally {
      await environment.dispose();
    }
  });
});
