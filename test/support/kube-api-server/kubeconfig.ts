// The kubeconfig a test hands to kubectl: one TLS server, an admin and a read-only user, three contexts.
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigSpec {
  server: string;
  contextName: string;
  adminToken: string;
  readOnlyToken: string;
  caPem: string;
}

/** Context names besides the main one (whose name is `contextName`). */
export const stagingContextName = 'staging-eu-1';
export const readOnlyContextSuffix = '-read-only';

export function kubeconfigDocument(spec: KubeconfigSpec): object {
  const readOnlyContext = `${spec.contextName}${readOnlyContextSuffix}`;
  const ca = Buffer.from(spec.caPem, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [
      { name: spec.contextName, cluster: { server: spec.server, 'certificate-authority-data': ca } },
      { name: stagingContextName, cluster: { server: spec.server, 'certificate-authority-data': ca } },
    ],
    users: [
      { name: `${spec.contextName}-admin`, user: { token: spec.adminToken } },
      { name: 'read-only', user: { token: spec.readOnlyToken } },
    ],
    contexts: [
      { name: spec.contextName, context: { cluster: spec.contextName, user: `${spec.contextName}-admin` } },
      { name: stagingContextName, context: { cluster: stagingContextName, user: `${spec.contextName}-admin`, namespace: 'dev' } },
      { name: readOnlyContext, context: { cluster: spec.contextName, user: 'read-only' } },
    ],
    'current-context': spec.contextName,
  };
}

export function writeKubeconfig(path: string, spec: KubeconfigSpec): void {
  // The file holds bearer tokens: owner-only, like kubectl writes its own.
  writeFileSync(path, stringify(kubeconfigDocument(spec)), { mode: 0o600 });
}
