// `npm run test:integration` hook: the Kubernetes API test server and the krr stand-in, wired into the user settings,
// so the extension-host tests (and VS Code's own MCP client) talk to a cluster that answers; and a real Prometheus
// (behind basic auth) holding 14 days of usage for the evidence test, passed by environment only: krr.prometheusUrl
// stays unset for the other tests (with it, the stand-in would compute from Prometheus instead of its fixed report).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { RunEnvironment } from '../e2e/lib/hooks';
import { startKrrEnvironment } from '../e2e/lib/krrEnvironment';
import { startPrometheus } from '../support/prometheus';
import { writeUsageHistory } from '../support/usage-history';
import { usageEnv, usageWorld } from './usageWorld';

export default async function prepare(): Promise<RunEnvironment> {
  const environment = await startKrrEnvironment();
  const dir = mkdtempSync(path.join(tmpdir(), 'krr-integration-usage-'));
  try {
    // The history ends now: the extension's evidence window ends when its report is loaded, a little later.
    const end = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const file = path.join(dir, 'usage.om');
    writeUsageHistory(file, usageWorld(end));
    const prometheus = await startPrometheus({ openMetrics: file });
    rmSync(dir, { recursive: true, force: true });
    return {
      env: { ...environment.env, [usageEnv.url]: prometheus.url, [usageEnv.authFile]: prometheus.authFile, [usageEnv.end]: end.toISOString() },
      settings: environment.settings,
      workspace: environment.workspace,
      dispose: async () => {
        await prometheus.close();
        await environment.dispose();
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    await environment.dispose();
    throw error;
  }
}
