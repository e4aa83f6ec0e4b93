// What the GitOps Helm sources share (a Flux HelmRelease, an Argo CD Application with a Helm source): a chart
// rendered with values layers that live in GitOps objects rather than in values files beside the chart, the values
// key that feeds a container's `resources` (found by rendering with a marker per key, as for a chart alone), and the
// byte-preserving write of `<key>.resources` into a values mapping inside a manifest.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { readPath } from '../plan/build';
import type { FieldChange } from '../plan/model';
import { escapeSetKey, HelmMissing, helmTemplate, renderedCpu, renderedWorkload, resourceKeyPaths, type HelmFinderOptions } from './helm';
import type { FinderContext, WorkloadTarget } from './model';
import { workloadWithContainers } from './workload';
import type { WorkspaceFolder } from './workspace';
import { removalOver } from './valuesResources';
import { ManifestEditError, parseManifestFile } from './yamlEdit';

/** A chart directory in a workspace folder (one with Chart.yaml). */
export interface ChartDir {
  folder: WorkspaceFolder;
  /** Relative to the folder, POSIX; '' for the folder itself. */
  dir: string;
}

/** Whether `dir` (relative, POSIX) of the folder is a chart KRR indexed: it holds a Chart.yaml. */
export function chartAt(context: FinderContext, folder: WorkspaceFolder, dir: string): ChartDir | null {
  const normalized = path.posix.normalize(dir.replace(/^\.\/?/, '') || '.');
  if (normalized.startsWith('..') || path.posix.isAbsolute(normalized)) return null;
  const clean = normalized === '.' ? '' : normalized.replace(/\/$/, '');
  const chartFile = clean ? `${clean}/Chart.yaml` : 'Chart.yaml';
  return context.index.files.some((file) => file.folder.root === folder.root && file.relativePath === chartFile) ? { folder, dir: clean } : null;
}

/** Helm's merge of values: mappings merge key by key (later wins), anything else replaces; null removes a key. */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (!isRecord(base) || !isRecord(over)) return over === undefined ? base : over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === null) delete merged[key];
    else merged[key] = mergeValues(merged[key], value);
  }
  return merged;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The chart's own values.yaml (its defaults), as data; {} when it has none. */
export async function chartDefaults(context: FinderContext, chart: ChartDir): Promise<unknown> {
  for (const name of ['values.yaml', 'values.yml']) {
    const file = chart.dir ? `${chart.dir}/${name}` : name;
    if (!(await context.files.exists(chart.folder, file))) continue;
    return parseManifestFile(await context.files.read(chart.folder, file), file).documents[0]?.toJS() ?? {};
  }
  return {};
}

/**
 * `helm template` of the staged chart with values given as data: each layer is written as a JSON file (JSON is YAML)
 * in the renders' private directory, in order, so later layers win as they do for the GitOps tool.
 */
export async function renderWithValues(options: HelmFinderOptions, context: FinderContext, chart: ChartDir, release: string, namespace: string, layers: readonly unknown[], sets: readonly string[] = []): Promise<unknown[]> {
  const stagedRoot = await context.stagedRoot(chart.folder);
  // The renders' private HOME of this proposal (removed with it): nothing of the workspace is written.
  const directory = path.join(context.renders.home(), 'values');
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const files = layers.map((values) => {
    const file = path.join(directory, `${randomBytes(8).toString('hex')}.json`);
    writeFileSync(file, JSON.stringify(values ?? {}), { mode: 0o600, flag: 'wx' });
    return file;
  });
  const described = { folder: chart.folder, dir: chart.dir, name: path.posix.basename(chart.dir || chart.folder.name), valuesFiles: [] };
  return helmTemplate(options, context, described, path.join(stagedRoot, chart.dir), release, namespace, files, sets, context.signal);
}

/** Container name -> the key path (from the values root) of the mapping that holds its `resources`. */
export interface LocatedKeys {
  keys: Map<string, string[]>;
  /** The workload as rendered now (null for a guess: not rendered). */
  rendered: unknown;
  guess: boolean;
  /** For a guess: what it rests on. */
  evidence?: string;
}

/**
 * The values keys that feed the target's containers: with the chart in the workspace and helm, by rendering once
 * plainly (the workload must be there) and once with a distinct CPU marker under every `<key>.resources` the merged
 * values hold. Null: the chart does not render this workload. Throws HelmMissing without a usable helm.
 */
export async function locateByRendering(options: HelmFinderOptions, context: FinderContext, chart: ChartDir, release: string, target: WorkloadTarget, layers: readonly unknown[]): Promise<LocatedKeys | null> {
  const merged = layers.reduce<unknown>((all, layer) => mergeValues(all, layer), await chartDefaults(context, chart));
  const keyPaths = resourceKeyPaths(merged);
  const rendered = renderedWorkload(await renderWithValues(options, context, chart, release, target.namespace, layers), target);
  if (!rendered || keyPaths.length === 0) return null;
  const markers = keyPaths.map((keys, index) => `${keys.length === 0 ? 'resources' : `${keys.map(escapeSetKey).join('.')}.resources`}.requests.cpu="${7_000_001 + index}m"`);
  const marked = renderedWorkload(await renderWithValues(options, context, chart, release, target.namespace, layers, markers), target);
  const keys = new Map<string, string[]>();
  for (const container of target.desired.keys()) {
    const cpu = String(renderedCpu(marked, target.kind, container) ?? '');
    const keyPath = keyPaths[Number(/^(\d+)m$/.exec(cpu)?.[1] ?? NaN) - 7_000_001];
    if (keyPath) keys.set(container, keyPath);
  }
  return keys.size === 0 ? null : { keys, rendered, guess: false };
}

/**
 * The names a chart's `fullname` helper gives what it renders for `release` (longest first): `<release>-<chart>`, or
 * just `<release>` when the release already contains the chart's name (Helm's own `helm create` helper and Bitnami's).
 */
function fullnames(release: string, chart: string | null): string[] {
  return chart && !release.includes(chart) ? [`${release}-${chart}`, release] : [release];
}

/** The values keys a component of a chart is conventionally configured under: `replicas` → `replica`, `query-frontend` → `queryFrontend`. */
function componentKeys(component: string): string[] {
  const camel = component.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
  const singular = /[^s]s$/.test(camel) ? camel.slice(0, -1) : null;
  // The singular first: charts that name workloads `<fullname>-replicas` configure them under `replica` (Bitnami).
  return [...new Set([...(singular ? [singular] : []), camel, component])];
}

/**
 * Without a render (the chart is not in the workspace, or helm cannot run): only a workload named as the chart's
 * `fullname` helper names what it renders — `<fullname>` or `<fullname>-<component>`, the fullname being `<release>` or
 * `<release>-<chart>` — is taken. A key the values already hold wins: `<container>.resources`, then the component's
 * key (`master.resources`; `replica.resources` for `<release>-replicas`), or a top-level `resources` for a single
 * container of `<fullname>`. Where the values hold none yet, the convention names one: the component's key for
 * `<fullname>-<component>`, the top-level `resources` for `<fullname>`; the values key naming the container it feeds.
 * Several keys that fit, or several containers for one key: refused (ManifestEditError), never picked. A guess, said
 * to be one.
 */
export function locateByConvention(values: unknown, release: string, target: WorkloadTarget, why: string, chart: string | null = null): LocatedKeys | null {
  const fullname = fullnames(release, chart).find((name) => target.name === name || target.name.startsWith(`${name}-`));
  if (fullname === undefined) return null;
  const keyPaths = resourceKeyPaths(values);
  const component = target.name === fullname ? null : target.name.slice(fullname.length + 1);
  const what = `${target.kind} ${target.namespace}/${target.name}`;
  // The component's key: one the values hold (with or without resources yet), else the convention's first.
  let componentKey: string[] | null = null;
  if (component !== null) {
    const names = componentKeys(component);
    const held = keyPaths.filter((keys) => names.includes(keys.at(-1) as string));
    const mappings = names.filter((name) => isRecord(values) && isRecord(values[name]) && !held.some((keys) => keys.length === 1 && keys[0] === name));
    const fitting = [...held, ...mappings.map((name) => [name])];
    if (fitting.length > 1) throw new ManifestEditError(`the chart of release ${release} could not be rendered (${why}), and several values keys fit ${what}: ${fitting.map((keys) => `${keys.join('.')}.resources`).join(', ')}; KRR does not pick one — edit the right one by hand`);
    componentKey = fitting[0] ?? [names[0] as string];
  }
  const containers = [...target.desired.keys()];
  const keys = new Map<string, string[]>();
  const unkeyed: string[] = [];
  for (const container of containers) {
    const named = keyPaths.find((keys) => keys.at(-1) === container);
    if (named) keys.set(container, named);
    else unkeyed.push(container);
  }
  // The workload's own key (its component's, or the top-level one) feeds one container: which one, when several are left?
  const own = componentKey ?? [];
  if (unkeyed.length === 1) keys.set(unkeyed[0] as string, own);
  else if (unkeyed.length > 1) {
    const main = unkeyed.filter((container) => container === chart || container === release || container === component);
    if (main.length !== 1) throw new ManifestEditError(`the chart of release ${release} could not be rendered (${why}), and ${what} has ${unkeyed.length} containers (${unkeyed.join(', ')}) with no values key of their own: KRR cannot tell which one ${own.length === 0 ? 'the top-level resources' : `${own.join('.')}.resources`} feeds — edit the values by hand`);
    keys.set(main[0] as string, own);
  }
  if (keys.size === 0) return null;
  const described = [...keys].map(([container, keyPath]) => `${[...keyPath, 'resources'].join('.')} for container ${container}`).join(', ');
  const naming = component === null ? `${fullname} (the chart's fullname for release ${release})` : `${fullname}-${component} (the chart's fullname for release ${release}, then the component ${component})`;
  return { keys, rendered: null, guess: true, evidence: `${why}; the workload is named ${naming}, so by the charts' naming convention its values are ${described}` };
}

export { HelmMissing };

/** The workload as far as the values decide it (each located container's resources), for a guess. */
export function workloadFromValues(values: unknown, located: LocatedKeys, target: WorkloadTarget): unknown {
  const containers = [...located.keys].map(([container, keyPath]) => {
    const block = readPath(values, [...keyPath, 'resources']);
    return { name: container, resources: isRecord(block) ? structuredClone(block) : {} };
  });
  return workloadWithContainers(target, containers);
}

/** `values` with each change written at `<key>.resources.<allocation>.<resource>` (a new object), a removal as writeValuesResources writes it over `lower`. */
export function valuesWithChanges(values: unknown, keys: ReadonlyMap<string, string[]>, changes: readonly FieldChange[], lower?: unknown): unknown {
  const result = (isRecord(values) ? structuredClone(values) : {}) as Record<string, unknown>;
  for (const change of changes) {
    const keyPath = keys.get(change.container);
    if (!keyPath) continue;
    const style = change.to === null ? removalOver(lower, keyPath)(change.allocation, change.resource) : null;
    const resources = readPath(result, [...keyPath, 'resources']);
    const block = isRecord(resources) ? resources[change.allocation] : undefined;
    const present = isRecord(block) && block[change.resource] !== undefined && block[change.resource] !== null;
    if (style === 'delete' || (style === 'values' && present)) {
      // As the edit removes it: the key, and an allocation left empty with it (`resources` itself stays).
      if (!isRecord(block) || !isRecord(resources)) continue;
      delete block[change.resource];
      if (Object.keys(block).length === 0) delete resources[change.allocation];
      continue;
    }
    let node = result;
    for (const key of [...keyPath, 'resources', change.allocation]) {
      if (!isRecord(node[key])) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[change.resource] = change.to;
  }
  return result;
}

