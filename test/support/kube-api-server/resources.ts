// The API resources the test server serves, and the legacy discovery documents kubectl reads.

export interface ApiResource {
  group: string; // '' for the core group
  version: string;
  resource: string; // plural, as in the URL
  kind: string;
  singularName: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
}

const workloadVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const apiResources: readonly ApiResource[] = [
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', singularName: 'namespace', namespaced: false, shortNames: ['ns'], categories: [], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', singularName: 'pod', namespaced: true, shortNames: ['po'], categories: ['all'], verbs: workloadVerbs },
  { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', singularName: 'daemonset', namespaced: true, shortNames: ['ds'], categories: ['all'], verbs: workloadVerbs },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', singularName: 'deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], verbs: workloadVerbs },
  { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', singularName: 'replicaset', namespaced: true, shortNames: ['rs'], categories: ['all'], verbs: workloadVerbs },
  { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', singularName: 'statefulset', namespaced: true, shortNames: ['sts'], categories: ['all'], verbs: workloadVerbs },
  { group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', singularName: 'cronjob', namespaced: true, shortNames: ['cj'], categories: ['all'], verbs: workloadVerbs },
  { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', singularName: 'job', namespaced: true, shortNames: [], categories: ['all'], verbs: workloadVerbs },
  { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', singularName: 'horizontalpodautoscaler', namespaced: true, shortNames: ['hpa'], categories: ['all'], verbs: workloadVerbs },
];

export function groupVersionOf(resource: ApiResource): string {
  return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

/** "deployments.apps", or "pods" for the core group: how the API server names a resource in messages. */
export function qualifiedResource(resource: ApiResource): string {
  return resource.group === '' ? resource.resource : `${resource.resource}.${resource.group}`;
}

/** "Deployment.apps", or "Pod" for the core group: how validation errors name a kind. */
export function qualifiedKind(resource: ApiResource): string {
  return resource.group === '' ? resource.kind : `${resource.kind}.${resource.group}`;
}

export function findResource(group: string, version: string, plural: string): ApiResource | undefined {
  return apiResources.find((r) => r.group === group && r.version === version && r.resource === plural);
}

export function findResourceByKind(apiVersion: string, kind: string): ApiResource | undefined {
  return apiResources.find((r) => groupVersionOf(r) === apiVersion && r.kind === kind);
}

export function apiVersionsDocument(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupListDocument(): object {
  const groups = [...new Set(apiResources.filter((r) => r.group !== '').map((r) => groupVersionOf(r)))].map((gv) => {
    const [name = '', version = ''] = gv.split('/');
    const entry = { groupVersion: gv, version };
    return { name, versions: [entry], preferredVersion: entry };
  });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiResourceListDocument(groupVersion: string): object | undefined {
  const resources = apiResources.filter((r) => groupVersionOf(r) === groupVersion);
  if (resources.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: resources.map((r) => ({
      name: r.resource,
      singularName: r.singularName,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length > 0 ? { categories: r.categories } : {}),
    })),
  };
}

export const versionDocument = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4',
  gitCommit: '59526cd4867447956156ae3a602fcbac10a2c335',
  gitTreeState: 'clean',
  buildDate: '2025-04-22T16:02:27Z',
  goVersion: 'go1.23.6',
  compiler: 'gc',
  platform: 'linux/amd64',
};
