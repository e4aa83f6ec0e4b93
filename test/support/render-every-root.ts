// Every rendering of a folder, for the isolation invariant (docs/ARCHITECTURE.md, "The manifest target"): render all of
// them before and after a write, and only the target environment's rendering of the target workload may differ.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { closedProxy } from '../../src/core/gitops/render';

const kustomizationNames = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

function directories(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    found.push(dir);
    for (const name of readdirSync(dir)) {
      if (name === '.git' || name === 'node_modules') continue;
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
    }
  };
  walk(root);
  return found;
}

/**
 * No route out, as the product renders (core/gitops/render): a real repository may name remote content (kustomize's
 * examples/loadHttp does), which must fail at once, the same way every time, instead of reaching the network.
 */
const noRouteOut = { ...Object.fromEntries(['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy'].map((name) => [name, closedProxy])), NO_PROXY: '', no_proxy: '' };

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...noRouteOut }, timeout: 20_000 });
  } catch (error) {
    // A rendering that fails is part of the picture too: it must fail the same way after the write.
    const stderr = (error as { stderr?: unknown }).stderr;
    // kubectl's log prefix carries the time and pid: left out, so the same failure compares equal.
    const first = typeof stderr === 'string' ? (stderr.trim().split('\n')[0] ?? '') : String(error);
    return `render failed: ${first.replace(/^[EWI]\d{4} [\d:.]+\s+\d+ [^\]]+\] /, '')}`;
  }
}

/**
 * The documents of `first` that `second` (the same render again) has too: a chart can render some objects differently
 * on every run (a test pod's random name, a generated password), and those cannot be compared before and after.
 */
function stableDocuments(first: string, second: string): string {
  if (first === second) return first;
  const again = second.split(/^---$/m);
  return first
    .split(/^---$/m)
    .filter((document) => {
      const index = again.indexOf(document);
      if (index >= 0) again.splice(index, 1);
      return index >= 0;
    })
    .join('---');
}

/**
 * `kubectl kustomize` of every kustomization root under `folder` (a Component is rendered through the roots that use
 * it, not on its own), and, when `helm` is given, `helm template` of every chart with values.yaml alone and with each
 * values-<env>.yaml: key ("kustomize overlays/prod", "helm charts/app values-prod.yaml") -> output (or why it failed).
 * `kubeVersion`: the cluster version charts render for (helm's --kube-version), as the product renders them; without
 * it a chart with a `kubeVersion` constraint helm's default does not meet fails the same way before and after.
 */
export function renderEveryRoot(folder: string, options: { helm?: string; kubectl?: string; kubeVersion?: string } = {}): Map<string, string> {
  const renderings = new Map<string, string>();
  for (const dir of directories(folder)) {
    const relative = path.relative(folder, dir) || '.';
    const kustomization = kustomizationNames.find((name) => statSync(path.join(dir, name), { throwIfNoEntry: false })?.isFile());
    if (kustomization && !/^kind:\s*Component\s*$/m.test(readFileSync(path.join(dir, kustomization), 'utf8'))) {
      renderings.set(`kustomize ${relative}`, run(options.kubectl ?? 'kubectl', ['kustomize', dir]));
    }
    if (options.helm && statSync(path.join(dir, 'Chart.yaml'), { throwIfNoEntry: false })?.isFile()) {
      const values = readdirSync(dir).filter((name) => /^values(-[A-Za-z0-9_.-]+)?\.ya?ml$/.test(name));
      const base = values.find((name) => /^values\.ya?ml$/.test(name));
      for (const env of [null, ...values.filter((name) => name !== base)]) {
        const files = [...(base ? [base] : []), ...(env ? [env] : [])].flatMap((name) => ['-f', path.join(dir, name)]);
        const args = ['template', path.basename(dir), dir, '--namespace', 'default', ...(options.kubeVersion ? ['--kube-version', options.kubeVersion] : []), ...files];
        renderings.set(`helm ${relative} ${env ?? base ?? '(no values)'}`, stableDocuments(run(options.helm, args), run(options.helm, args)));
      }
    }
  }
  return renderings;
}

/** The keys whose rendering differs between two `renderEveryRoot` results (or exists in only one). */
export function changedRenderings(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])].filter((key) => before.get(key) !== after.get(key)).sort();
}
