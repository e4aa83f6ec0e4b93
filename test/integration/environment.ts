// `npm run test:integration` hook: the Kubernetes API test server and the krr stand-in, wired into the user settings,
// so the extension-host tests (and VS Code's own MCP client) talk to a cluster that answers.
import type { RunEnvironment } from '../e2e/lib/hooks';
import { startKrrEnvironment } from '../e2e/lib/krrEnvironment';

export default async function prepare(): Promise<RunEnvironment> {
  const environment = await startKrrEnvironment();
  return { env: environment.env, settings: environment.settings, workspace: environment.workspace, dispose: environment.dispose };
}
