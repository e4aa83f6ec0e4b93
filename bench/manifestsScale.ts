// manifests_scale: a proposal of 50 workloads of one environment in a generated platform monorepo — 100 apps × 3
// environments (300 kustomization roots over shared bases and components, with name prefixes and namespaces) and 20
// Helm charts with values-<env>.yaml — through the session's manifest proposal (what krr_propose_changes with target
// "manifests" calls), with the real `kubectl kustomize`. Reports the wall time, the renderer runs, and the roots that
// read a changed file (each of which the isolation check must render before and after the edit).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileManifestWriter } from '../src/core/gitops/apply';
import { loadKustomizations, readersOf, type KustomizationInfo } from '../src/core/gitops/kustomize';
import type { FinderContext } from '../src/core/gitops/model';
import { RenderGuard, type RenderCount } from '../src/core/gitops/render';
import { indexWorkspace, readManifestText, workspaceFolders } from '../src/core/gitops/workspace';
import { Session } from '../src/core/session/session';
import { parseSessionSettings } from '../src/core/settings';
import { krrReportJson, type Amounts } from '../test/support/krr-report';
import { round } from './stats';

const domains = ['billing', 'orders', 'catalog', 'search', 'identity', 'payments', 'shipping', 'inventory', 'reviews', 'notify'];
const roles = ['api', 'worker', 'gateway', 'scheduler', 'indexer', 'ledger', 'router', 'cache', 'export', 'sync'];
export const environments = ['dev', 'staging', 'prod'] as const;
const chartNames = ['edge-proxy', 'metrics-agent', 'log-shipper', 'cert-rotator', 'dns-updater', 'node-exporter', 'trace-collector', 'secret-syncer', 'backup-runner', 'policy-engine', 'image-puller', 'quota-watcher', 'event-forwarder', 'config-reloader', 'disk-cleaner', 'kube-janitor', 'alert-relay', 'token-refresher', 'storage-provisioner', 'audit-forwarder'];

export interface MonorepoApp {
  name: string;
  domain: string;
  /** Its resources live in each overlay's own patch (edited in place) rather than in the shared base (a new patch). */
  overlayValues: boolean;
}

export interface Monorepo {
  root: string;
  apps: MonorepoApp[];
  roots: number;
  charts: number;
}

function write(root: string, files: Record<string, string>): void {
  for (const [relativePath, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, relativePath)), { recursive: true });
    writeFileSync(path.join(root, relativePath), text);
  }
}

function deployment(name: string, sidecar: boolean): string {
  const proxy = sidecar ? `        - name: proxy\n          image: ghcr.io/example/proxy:2.1.0\n          resources:\n            requests: {cpu: 20m, memory: 32Mi}\n` : '';
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/name: ${name}
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: ${name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ${name}
    spec:
      containers:
        - name: ${name}
          image: ghcr.io/example/${name}:1.4.2
          ports:
            - containerPort: 8080
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 256Mi
${proxy}`;
}

function resourcesPatch(name: string, cpu: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  template:
    spec:
      containers:
        - name: ${name}
          resources:
            requests:
              cpu: ${cpu}
              memory: 192Mi
`;
}

const helpers = `{{- define "chart.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "chart.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "chart.fullname" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
`;

const chartDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "chart.fullname" . }}
  labels:
    {{- include "chart.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ include "chart.fullname" . }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ include "chart.fullname" . }}
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
`;

const chartService = `apiVersion: v1
kind: Service
metadata:
  name: {{ include "chart.fullname" . }}
spec:
  selector:
    app.kubernetes.io/name: {{ include "chart.fullname" . }}
  ports:
    - port: {{ .Values.port }}
`;

/**
 * Writes the monorepo under `root`: apps/<app>/base (the app's Deployment and Service, and the shared platform/common
 * base), apps/<app>/overlays/<env> (namePrefix <env>-, namespace <domain>-<env>, a component; every third app keeps its
 * resources in an overlay patch), components/monitoring (staging, prod) and components/debug (dev, a JSON6902 patch),
 * and charts/<chart> with values.yaml and values-<env>.yaml. Deterministic.
 */
export function generateMonorepo(root: string): Monorepo {
  const apps: MonorepoApp[] = [];
  const files: Record<string, string> = {
    'platform/common/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - configmap.yaml\n',
    'platform/common/configmap.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: platform-defaults\ndata:\n  LOG_FORMAT: json\n',
    'components/monitoring/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - scrape-config.yaml
patches:
  - target:
      kind: Deployment
    patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: any
        annotations:
          prometheus.io/scrape: "true"
`,
    'components/monitoring/scrape-config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scrape-config\ndata:\n  port: "8080"\n',
    'components/debug/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
  - target:
      kind: Deployment
    patch: |-
      - op: add
        path: /metadata/annotations
        value:
          example.com/log-level: debug
`,
  };
  for (const [index, role] of roles.flatMap((role) => domains.map((domain) => [domain, role] as const)).entries()) {
    const [domain, roleName] = role;
    const name = `${domain}-${roleName}`;
    const app: MonorepoApp = { name, domain, overlayValues: index % 3 === 0 };
    apps.push(app);
    files[`apps/${name}/base/kustomization.yaml`] = `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../../platform/common\n  - deployment.yaml\n  - service.yaml\n`;
    files[`apps/${name}/base/deployment.yaml`] = deployment(name, index % 5 === 0);
    files[`apps/${name}/base/service.yaml`] = `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    app.kubernetes.io/name: ${name}\n  ports:\n    - port: 80\n      targetPort: 8080\n`;
    for (const env of environments) {
      const overlay = `apps/${name}/overlays/${env}`;
      const component = env === 'dev' ? 'debug' : 'monitoring';
      files[`${overlay}/kustomization.yaml`] = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ${domain}-${env}
namePrefix: ${env}-
resources:
  - ../../base
components:
  - ../../../../components/${component}
${app.overlayValues ? 'patches:\n  - path: resources.yaml\n' : ''}images:
  - name: ghcr.io/example/${name}
    newTag: 1.4.2-${env}
`;
      if (app.overlayValues) files[`${overlay}/resources.yaml`] = resourcesPatch(name, env === 'prod' ? '300m' : '150m');
    }
  }
  for (const chart of chartNames) {
    const at = `charts/${chart}`;
    files[`${at}/Chart.yaml`] = `apiVersion: v2\nname: ${chart}\nversion: 1.2.0\nappVersion: "3.4.1"\n`;
    files[`${at}/values.yaml`] = `replicaCount: 1\nport: 9100\nimage:\n  repository: ghcr.io/example/${chart}\n  tag: 3.4.1\nresources:\n  requests:\n    cpu: 50m\n    memory: 64Mi\n`;
    for (const env of environments) files[`${at}/values-${env}.yaml`] = `replicaCount: ${env === 'prod' ? 3 : 1}\nresources:\n  requests:\n    cpu: ${env === 'prod' ? '100m' : '50m'}\n    memory: 64Mi\n`;
    files[`${at}/templates/_helpers.tpl`] = helpers;
    files[`${at}/templates/deployment.yaml`] = chartDeployment;
    files[`${at}/templates/service.yaml`] = chartService;
  }
  write(root, files);
  return { root, apps, roots: apps.length * environments.length, charts: chartNames.length };
}

export interface ManifestsScaleFigures {
  roots: number;
  charts: number;
  workloads: number;
  offered: number;
  refused: number;
  ms: number;
  renders: number;
  affected_roots: number;
  /** Every affected root was rendered at least twice (before and after its edit): the isolation check ran on it. */
  isolation_covers_affected_roots: boolean;
  helm: string;
}

/** The helm `npm run helm:build` cached, if it did (the bench never builds it); else whatever `helm` is on PATH. */
async function cachedHelm(): Promise<string> {
  const { execa } = await import('execa');
  const built = await execa('bash', [path.resolve(__dirname, '..', 'test', 'helm', 'build.sh'), '--cached-only'], { reject: false, stdin: 'ignore' });
  const bin = built.exitCode === 0 ? String(built.stdout).trim().split('\n').at(-1) : undefined;
  return bin ? path.join(bin, 'helm') : 'helm';
}

export async function benchmarkManifestsScale(options: { workloads?: number; environment?: (typeof environments)[number] } = {}): Promise<ManifestsScaleFigures> {
  const count = options.workloads ?? 50;
  const env = options.environment ?? 'prod';
  const dir = mkdtempSync(path.join(tmpdir(), 'krr-bench-monorepo-'));
  try {
    const repo = generateMonorepo(path.join(dir, 'monorepo'));
    const stateDir = path.join(dir, 'state');
    mkdirSync(stateDir);
    const chosen = repo.apps.slice(0, count);
    const amounts = (cpu: number, memory: number): Amounts => ({ requests: { cpu, memory }, limits: { cpu: null, memory: 256 * 2 ** 20 } });
    const reportFile = path.join(dir, 'report.json');
    writeFileSync(reportFile, krrReportJson(chosen.map((app) => ({ namespace: `${app.domain}-${env}`, kind: 'Deployment', name: `${env}-${app.name}`, containers: { [app.name]: { current: amounts(0.1, 128 * 2 ** 20), recommended: amounts(0.25, 200 * 2 ** 20) } } })), { cluster: `${env}-eu-1` }));
    const helm = await cachedHelm();
    const settings = parseSessionSettings({ kubectlPath: 'kubectl', kubeconfig: path.join(dir, 'no-kubeconfig'), context: `${env}-eu-1`, helmPath: helm });
    let renders: RenderCount = { count: 0, runs: [] };
    const session = new Session({
      settings: () => settings,
      approver: { show: async () => undefined, requestApproval: async () => ({ outcome: 'declined', reason: 'bench' }) },
      stateDir,
      workspace: { folders: () => [repo.root], writer: fileManifestWriter(), onRenders: (seen) => (renders = seen) },
    });
    try {
      const person = { type: 'human' as const, via: 'bench' };
      const { reportId } = await session.loadReport(reportFile, person);
      const started = performance.now();
      const plan = await session.proposeManifests({ reportId, workloads: chosen.map((app) => ({ namespace: `${app.domain}-${env}`, kind: 'Deployment', name: `${env}-${app.name}` })), target: 'manifests' }, person);
      const ms = performance.now() - started;
      // The roots whose rendering reads a changed file, from the files as they were (a new patch is read through the
      // kustomization file that lists it, which changed too).
      const folders = await workspaceFolders([repo.root]);
      const context: FinderContext = {
        index: await indexWorkspace(folders),
        files: { read: async (folder, relativePath) => (await readManifestText(folder, relativePath)).text, exists: async () => true },
        kubectlPath: 'kubectl',
        stagedRoot: async () => repo.root,
        cache: new Map(),
        renders: new RenderGuard(dir),
      };
      const set = await loadKustomizations(context);
      const affected = new Set<KustomizationInfo>();
      for (const file of plan.files) if (file.beforeHash !== null) for (const reader of readersOf(set, folders[0] as (typeof folders)[number], file.path)) affected.add(reader);
      const runsOf = (info: KustomizationInfo) => renders.runs.filter((what) => what === `kubectl kustomize ${info.dir || '.'}`).length;
      return {
        roots: repo.roots,
        charts: repo.charts,
        workloads: count,
        offered: plan.workloads.length,
        refused: plan.unresolved.length,
        ms: round(ms, 0),
        renders: renders.count,
        affected_roots: affected.size,
        isolation_covers_affected_roots: [...affected].every((info) => runsOf(info) >= 2),
        helm,
      };
    } finally {
      session.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
