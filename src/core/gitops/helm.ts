// Helm charts in the workspace: which values key feeds a workload container's `resources`, and the values file to edit.
// With helm installed the key is found by rendering (`helm template` with a distinct marker per candidate key);
// without it, by convention (a `resources:` block under a key named like the container or the workload's
// component), marked as a guess, and only for a workload named after the release or by a values key. Charts render
// for the cluster's Kubernetes version (`--kube-version`). Rules, stated:
// - A chart is a directory with Chart.yaml; its values files are values.yaml and values-<env>.yaml beside it.
// - The environment's file is the values-<env>.yaml whose <env> occurs in the kube context or the namespace; several
//   such files are several candidates (the caller refuses to pick); none: values.yaml alone.
// - The release is named after the chart (as `helm install <chart>` users usually do); the workload must render with
//   the target's kind and name.
// - The edit goes into the environment's file when there is one (adding the block if it lacks it, so other
//   environments keep theirs), else into values.yaml; the edited chart is rendered again and must give the workload
//   exactly the recommended values, and every other rendering that reads the edited file (values.yaml alone and under
//   each values-<env>.yaml) must stay exactly as it was: an edit of values.yaml that reaches another environment is
//   refused (without helm, whenever other values files exist), naming them.
import * as path from 'node:path';
import { isMap } from 'yaml';
import type { FinderContext, ManifestSourceFinder, PreparedChange, RenderInput, SourceCandidate, WorkloadTarget } from './model';
import { WorkspaceInputError, type WorkspaceFolder } from './workspace';
import { RenderError } from './render';
import { chartMayName, readChartText, type ChartText } from './chartNames';
import { changesFor, checkRendered, containersPath, identityOf, sameWorkload, workloadWithContainers } from './workload';
import { applySplices, ManifestEditError, parseManifestFile, plainObjectOf, type TextSplice } from './yamlEdit';
import { writeValuesResources } from './valuesResources';
import { readPath } from '../plan/build';
import { displayText } from '../text';
import { canonicalJson } from '../canonicalJson';

export interface HelmFinderOptions {
  /** The helm binary; when it cannot be run, keys are guessed by convention. */
  helmPath?: string;
  /**
   * The Kubernetes version charts are rendered for (`--kube-version`, see helmKubeVersion): a chart's `kubeVersion`
   * constraint and `.Capabilities.KubeVersion` see this instead of helm's built-in default (v1.20 in some builds).
   */
  kubeVersion?: string;
}

/**
 * The version to render for, from a setting (`1.31`, `v1.31.2`) or an API server's gitVersion (`v1.30.4-gke.1348000`):
 * major.minor.patch only, since a pre-release suffix fails a chart's `>=1.25.0` constraint. Null: not a version.
 */
export function helmKubeVersion(raw: string | null | undefined): string | null {
  const match = /^v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,5}))?(?:[-+].*)?$/.exec(raw?.trim() ?? '');
  return match ? `v${match[1]}.${match[2]}.${match[3] ?? '0'}` : null;
}

/** helm's own words when it fails (its stderr), bounded and on one line: its `Error:` lines (else the first), cleaned. */
function helmStderr(stderr: string): string {
  const lines = stderr.split('\n').map((line) => displayText(line, 600)).filter((line) => line !== '');
  const errors = lines.filter((line) => /^Error\b/i.test(line));
  return displayText((errors.length > 0 ? errors : lines).slice(0, 3).join(' | '), 600);
}

export interface Chart {
  folder: WorkspaceFolder;
  /** Relative to the folder, POSIX; '' for the folder itself. */
  dir: string;
  name: string;
  valuesFiles: string[];
}

/** Key paths (from the values root) of every mapping that holds a `resources` mapping. */
export function resourceKeyPaths(values: unknown, prefix: string[] = [], depth = 0): string[][] {
  if (!values || typeof values !== 'object' || Array.isArray(values) || depth > 6) return [];
  const found: string[][] = [];
  for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
    if (key === 'resources' && value && typeof value === 'object' && !Array.isArray(value)) found.push(prefix);
    else found.push(...resourceKeyPaths(value, [...prefix, key], depth + 1));
  }
  return found;
}

export function charts(context: FinderContext): Chart[] {
  const byDir = new Map<string, Chart>();
  for (const file of context.index.files) {
    if (path.posix.basename(file.relativePath) !== 'Chart.yaml') continue;
    const dir = path.posix.dirname(file.relativePath) === '.' ? '' : path.posix.dirname(file.relativePath);
    byDir.set(`${file.folder.root}\0${dir}`, { folder: file.folder, dir, name: path.posix.basename(dir || file.folder.name), valuesFiles: [] });
  }
  for (const file of context.index.files) {
    const dir = path.posix.dirname(file.relativePath) === '.' ? '' : path.posix.dirname(file.relativePath);
    const chart = byDir.get(`${file.folder.root}\0${dir}`);
    if (chart && /^values(-[A-Za-z0-9_.-]+)?\.ya?ml$/.test(path.posix.basename(file.relativePath))) chart.valuesFiles.push(file.relativePath);
  }
  return [...byDir.values()];
}

async function chartName(context: FinderContext, chart: Chart): Promise<string> {
  const text = await context.files.read(chart.folder, path.posix.join(chart.dir, 'Chart.yaml'));
  const name = (parseManifestFile(text, path.posix.join(chart.dir, 'Chart.yaml')).documents[0]?.toJS() as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) ? name : chart.name;
}

/** The environment files for this target: values-<env>.yaml whose <env> occurs in the context or the namespace. */
function environmentFiles(chart: Chart, target: WorkloadTarget): string[] {
  const where = `${target.context ?? ''} ${target.namespace}`.toLowerCase();
  return chart.valuesFiles.filter((file) => {
    const env = /^values-(.+)\.ya?ml$/.exec(path.posix.basename(file))?.[1]?.toLowerCase();
    return env !== undefined && where.includes(env);
  });
}

/**
 * `helm template` of the staged chart, run like every renderer (core/gitops/render: closed environment, no route out,
 * bounded). Only local input: no --dependency-update, no repository, no --validate (no cluster); `lookup` in a template
 * renders empty without a cluster.
 */
export async function helmTemplate(options: HelmFinderOptions, context: FinderContext, chart: Chart, chartDir: string, release: string, namespace: string, valuesFiles: readonly string[], sets: readonly string[], signal?: AbortSignal): Promise<unknown[]> {
  // --skip-schema-validation: helm validates values against the chart's values.schema.json, and follows a remote
  // `$ref` there (over the network, loopback included). KRR only reads the rendered resources; validation is not its job.
  const kubeVersion = helmKubeVersion(options.kubeVersion);
  const args = ['template', release, chartDir, '--namespace', namespace, '--skip-schema-validation', ...(kubeVersion ? ['--kube-version', kubeVersion] : []), ...valuesFiles.flatMap((file) => ['-f', file]), ...sets.flatMap((set) => ['--set-json', set])];
  const what = `helm template ${chart.dir || chart.folder.name}`;
  let stdout: string;
  try {
    stdout = await context.renders.run(`helm:${chart.folder.root}\0${chart.dir}`, options.helmPath ?? 'helm', args, what, signal);
  } catch (error) {
    if (error instanceof RenderError && error.kind === 'not-installed') throw new HelmMissing();
    // A helm older than 3.16 cannot skip schema validation: it is not run (the values key is guessed, as without helm).
    if (error instanceof RenderError && /unknown flag: --skip-schema-validation/.test(error.stderr)) throw new HelmMissing();
    if (error instanceof RenderError && error.kind === 'failed') {
      const words = helmStderr(error.stderr);
      const hint = /kubeVersion/i.test(words) ? `; it was rendered for Kubernetes ${kubeVersion ?? "helm's default version"}${options.kubeVersion ? '' : ' — set krr.gitops.kubeVersion to the cluster\'s version (or call krr_status, which reads it)'}` : '';
      throw new ManifestEditError(`${what} failed: ${words || 'helm printed no error'}${hint}`);
    }
    if (error instanceof RenderError) throw new ManifestEditError(error.message);
    throw error;
  }
  // Template output is chart text, as hostile as the chart: the same alias and nesting bounds as a workspace file.
  return parseManifestFile(stdout, `the output of ${what}`).documents.map((document) => plainObjectOf(document, `the output of ${what}`));
}

/**
 * What `helm template` reads of each chart of the folder: its metadata, the values files `valuesOf` names (default:
 * the chart's own values.yaml), templates, subcharts and CRDs; not the rest of the folder (files a template reads
 * with .Files are not copied: such a chart does not render from a staged copy).
 */
export function chartRenderInputs(context: FinderContext, folder: WorkspaceFolder, valuesOf: (chart: Chart) => readonly string[] = ownValuesFiles): RenderInput[] {
  const inputs: RenderInput[] = [];
  for (const chart of charts(context)) {
    if (chart.folder.root !== folder.root) continue;
    const at = (name: string) => (chart.dir ? `${chart.dir}/${name}` : name);
    inputs.push(...['Chart.yaml', 'Chart.lock', 'values.schema.json', '.helmignore'].map((name) => ({ file: at(name) })), ...valuesOf(chart).map((file) => ({ file })));
    inputs.push(...['templates', 'charts', 'crds'].map((name) => ({ directory: at(name) })));
  }
  return inputs;
}

/** A chart's own values file, by either spelling (what helm template reads without -f). */
function ownValuesFiles(chart: Chart): string[] {
  return ['values.yaml', 'values.yml'].map((name) => (chart.dir ? `${chart.dir}/${name}` : name));
}

export class HelmMissing extends Error {}

function chartTextKey(chart: Chart): string {
  return `helm:text:${chart.folder.root}\0${chart.dir}`;
}

/** The chart's words as the private copy holds them (what helm would read); cached until one of its files is edited. */
async function chartTextOf(context: FinderContext, chart: Chart): Promise<ChartText> {
  const cached = context.cache.get(chartTextKey(chart)) as ChartText | undefined;
  if (cached) return cached;
  const root = await context.stagedRoot(chart.folder);
  // A chart whose files cannot be read here may name anything: it is rendered, and helm says what is wrong.
  const text = await readChartText(path.join(root, chart.dir), chart.valuesFiles.map((file) => path.posix.basename(file))).catch((): ChartText => ({ words: null, truncations: [] }));
  context.cache.set(chartTextKey(chart), text);
  return text;
}

export function renderedWorkload(documents: readonly unknown[], target: WorkloadTarget): unknown {
  return documents.find((document) => {
    const identity = identityOf(document);
    return identity !== null && sameWorkload(identity, target);
  });
}

/** The container's requests.cpu as rendered (the marker channel). */
export function renderedCpu(workload: unknown, kind: string, container: string): unknown {
  const containers = readPath(workload, containersPath(kind));
  const found = Array.isArray(containers) ? (containers.find((item) => (item as { name?: unknown }).name === container) as Record<string, unknown> | undefined) : undefined;
  return (found?.resources as { requests?: { cpu?: unknown } } | undefined)?.requests?.cpu;
}

export function helmFinder(options: HelmFinderOptions = {}): ManifestSourceFinder {
  // Charts that could not be read or rendered (hostile or broken input), for the "no source" message. A finder is
  // made per proposal, so this lives as long as one.
  const unusable = new Set<string>();
  return {
    name: 'helm',
    async find(target, context) {
      const candidates: SourceCandidate[] = [];
      for (const chart of charts(context)) {
        if (!chart.valuesFiles.some((file) => path.posix.basename(file).startsWith('values.'))) continue;
        const base = chart.valuesFiles.find((file) => /^values\.ya?ml$/.test(path.posix.basename(file))) as string;
        let release = chart.name;
        try {
          release = await chartName(context, chart);
          // Rendered only when its text can make this workload's name (chartNames.ts): a monorepo's other charts are
          // not run for every workload.
          if (!chartMayName(await chartTextOf(context, chart), release, target.namespace, target.name)) continue;
          const envs = environmentFiles(chart, target);
          for (const env of envs.length > 0 ? envs : [null]) {
            const located = await locate(options, context, chart, release, base, env, target);
            if (located) candidates.push(candidateFor(options, chart, release, base, env, located, target));
          }
        } catch (error) {
          // This chart is not a source; the others still are.
          if (!(error instanceof ManifestEditError || error instanceof WorkspaceInputError)) throw error;
          const where = `${chart.folder.name}/${chart.dir || '.'}`;
          unusable.add(`${where} (Helm chart): ${error.message}`);
          // A chart named like the workload may be its source: not rendered, it is not passed over in silence (another
          // source would look like the only one), and the refusal carries helm's own words.
          if (namedAfterRelease(target, release)) throw new ManifestEditError(`the Helm chart ${where} (release ${release}) may render ${target.kind} ${target.namespace}/${target.name}, but it could not be rendered, so KRR cannot tell which source decides it: ${error.message}`);
        }
      }
      return candidates;
    },
    // Nothing of a chart is cached but its text, which an edit of one of its files changes.
    invalidate(context, folder, editedPaths) {
      for (const chart of charts(context)) {
        if (chart.folder.root === folder.root && editedPaths.some((edited) => chart.dir === '' || edited.startsWith(`${chart.dir}/`))) context.cache.delete(chartTextKey(chart));
      }
    },
    // What `helm template` reads of a chart: its metadata, values files, templates, subcharts and CRDs; not the rest
    // of the folder (files a template reads with .Files are not copied: such a chart does not render here).
    async renderInputs(context, folder) {
      return chartRenderInputs(context, folder, (chart) => chart.valuesFiles);
    },
    async problems() {
      return [...unusable];
    },
  };
}

interface Located {
  /** container name -> key path (from the values root) of the mapping holding its `resources` */
  keys: Map<string, string[]>;
  guess: boolean;
  before: unknown;
  /** For a guess: why this chart is thought to render the workload. */
  evidence?: string;
}

async function locate(options: HelmFinderOptions, context: FinderContext, chart: Chart, release: string, base: string, env: string | null, target: WorkloadTarget): Promise<Located | null> {
  const values = parseManifestFile(await context.files.read(chart.folder, base), base).documents[0]?.toJS() as unknown;
  const keyPaths = resourceKeyPaths(values);
  if (keyPaths.length === 0) return null;
  const root = await context.stagedRoot(chart.folder);
  const chartDir = path.join(root, chart.dir);
  const files = [base, ...(env ? [env] : [])].map((file) => path.join(root, file));
  const containers = [...target.desired.keys()];
  try {
    const before = renderedWorkload(await helmTemplate(options, context, chart, chartDir, release, target.namespace, files, [], context.signal), target);
    if (!before) return null;
    // One render with a distinct CPU marker per candidate key: the marker a container renders with names its key.
    const markers = keyPaths.map((keys, index) => `${keys.length === 0 ? 'resources' : `${keys.map(escapeSetKey).join('.')}.resources`}.requests.cpu="${7_000_001 + index}m"`);
    const marked = renderedWorkload(await helmTemplate(options, context, chart, chartDir, release, target.namespace, files, markers, context.signal), target);
    const keys = new Map<string, string[]>();
    for (const container of containers) {
      const cpu = String(renderedCpu(marked, target.kind, container) ?? '');
      const index = Number(/^(\d+)m$/.exec(cpu)?.[1] ?? NaN) - 7_000_001;
      const keyPath = keyPaths[index];
      if (keyPath) keys.set(container, keyPath);
    }
    return keys.size === 0 ? null : { keys, guess: false, before };
  } catch (error) {
    if (!(error instanceof HelmMissing)) throw error;
    return guessedKeys(keyPaths, release, target);
  }
}

/** `<release>` or `<release>-<component>`: the usual fullname of what a chart installed under that release renders. */
export function namedAfterRelease(target: WorkloadTarget, release: string): boolean {
  return target.name === release || target.name.startsWith(`${release}-`);
}

/**
 * No helm: the chart cannot be rendered, so it is a candidate only with evidence that it renders this workload — the
 * workload is named after the release (`<release>` or `<release>-<component>`, the usual fullname), or a values key
 * names the workload. Without it a chart would claim any workload whose container names match its keys (every
 * single-container workload, for a top-level `resources:`), making every other source ambiguous. Then the convention:
 * `<container>.resources`, `<component>.resources`, or a top-level `resources` for a single container. A guess, shown
 * as one, with the evidence it rests on.
 */
function guessedKeys(keyPaths: readonly string[][], release: string, target: WorkloadTarget): Located | null {
  const component = target.name.startsWith(`${release}-`) ? target.name.slice(release.length + 1) : target.name;
  const naming = keyPaths.find((keys) => keys.at(-1) === target.name);
  const evidence = namedAfterRelease(target, release) ? `the workload is named after the release ${release}` : naming ? `the values key ${naming.join('.')} names the workload` : null;
  if (evidence === null) return null;
  const containers = [...target.desired.keys()];
  const keys = new Map<string, string[]>();
  for (const container of containers) {
    const match = keyPaths.find((keys) => keys.at(-1) === container) ?? keyPaths.find((keys) => keys.at(-1) === component) ?? (containers.length === 1 && keyPaths.some((keys) => keys.length === 0) ? [] : undefined);
    if (match) keys.set(container, match);
  }
  return keys.size === 0 ? null : { keys, guess: true, before: null, evidence };
}

export function escapeSetKey(key: string): string {
  return key.replace(/([.,=\\])/g, '\\$1');
}

function candidateFor(options: HelmFinderOptions, chart: Chart, release: string, base: string, env: string | null, located: Located, target: WorkloadTarget): SourceCandidate {
  const file = env ?? base;
  return {
    finder: 'helm',
    path: chart.dir,
    folder: chart.folder,
    label: `${chart.folder.name}/${file} (Helm chart ${release}${located.guess ? `; a guess: helm is not installed (or older than 3.16), so the chart could not be rendered to check it; ${located.evidence ?? 'matched by name'}, and the key is matched by its name` : ''})`,
    key: file,
    ...(located.guess ? { guess: true } : {}),
    async prepare(context): Promise<PreparedChange> {
      const text = await context.files.read(chart.folder, file);
      const parsed = parseManifestFile(text, file);
      const document = parsed.documents[0];
      if (!document || !isMap(document.contents)) throw new ManifestEditError(`${file} is not a YAML mapping`);
      // The values the workload has now: as rendered (helm), else what the values files say.
      const merged = located.before ?? (await mergedValuesWorkload(context, chart, base, env, located, target));
      const { changes, missing } = changesFor(merged, target.kind, target.desired);
      const notes = missing.map((container) => `container ${container} is not fed by a values key of chart ${release}; skipped`);
      if (env) notes.push(`edited ${env}, the values file for this environment (applied after ${base}), so other environments keep their values`);
      const splices: TextSplice[] = [];
      const edits = [];
      // What the layers below the edited file set (a removal of a value one of them sets is written as null).
      const lower = env ? (parseManifestFile(await context.files.read(chart.folder, base), base).documents[0]?.toJS() ?? {}) : {};
      for (const container of new Set(changes.map((change) => change.container))) {
        const keyPath = located.keys.get(container);
        if (!keyPath) continue;
        const result = writeValuesResources(parsed, document, [], keyPath, changes.filter((change) => change.container === container), '', lower);
        splices.push(...result.splices);
        edits.push(...result.edits);
      }
      const after = applySplices(text, splices);
      // The isolation invariant (docs/ARCHITECTURE.md): every rendering of the chart that reads the edited file keeps
      // its output, but this environment's rendering of this workload. values-<env>.yaml is read by its environment
      // alone; values.yaml by every one (alone, and under each values-<env>.yaml).
      const otherValues = chart.valuesFiles.filter((name) => name !== base);
      const renderings: Array<readonly string[]> = file === base ? [[base], ...otherValues.map((other) => [base, other])] : [[base, file]];
      const isTarget = (files: readonly string[]) => files.length === (env ? 2 : 1) && files.at(-1) === (env ?? base);
      if (splices.length > 0 && renderings.some((files) => !isTarget(files)) && located.guess) {
        throw new ManifestEditError(`${base} is read by every environment of chart ${release} (${otherValues.map((other) => path.posix.basename(other)).join(', ')} too), and without helm (3.16 or later) KRR cannot check that they keep their values: add a values-<env>.yaml for this environment (<env> as in its kube context or namespace) to have the values written there, or install helm`);
      }
      // The objects other than the target workload, as rendered now: twice, since a chart may render some objects
      // differently on every run (a test pod's random name, a generated password); only the others can be compared.
      const baseline = new Map<readonly string[], Baseline>();
      const others = (objects: readonly unknown[]) => {
        const workload = renderedWorkload(objects, target);
        return objects.filter((object) => object !== workload);
      };
      if (!located.guess && splices.length > 0) {
        const stagedRoot = await context.stagedRoot(chart.folder);
        const renderNow = (files: readonly string[]) => helmTemplate(options, context, chart, path.join(stagedRoot, chart.dir), release, target.namespace, files.map((name) => path.join(stagedRoot, name)), [], context.signal);
        for (const files of renderings) {
          const pick = (objects: unknown[]) => (isTarget(files) ? others(objects) : objects);
          baseline.set(files, baselineOf(pick(await renderNow(files)), pick(await renderNow(files))));
        }
      }
      return {
        before: merged,
        files: splices.length === 0 ? [] : [{ relativePath: file, text: after, edits }],
        changes,
        notes,
        async verify(stagedRoot, verifyContext) {
          if (located.guess) {
            const rendered = await mergedValuesWorkload(verifyContext, chart, base, env, located, target, { [file]: after });
            const problem = checkRendered(merged, rendered, target.kind, changes);
            return problem ? `the edited values would not carry the recommended values: ${problem}` : null;
          }
          const changed: string[] = [];
          for (const [files, previous] of baseline) {
            const what = files.map((name) => path.posix.basename(name)).join(' + ');
            let now: unknown[];
            try {
              now = await helmTemplate(options, verifyContext, chart, path.join(stagedRoot, chart.dir), release, target.namespace, files.map((name) => path.join(stagedRoot, name)), [], verifyContext.signal);
            } catch (error) {
              // An environment that no longer renders is not known to stay as it was.
              if (error instanceof ManifestEditError) return `could not check chart ${release} with ${what}: ${error.message}`;
              throw error;
            }
            if (isTarget(files)) {
              const problem = checkRendered(merged, renderedWorkload(now, target), target.kind, changes);
              if (problem) return `helm template of the edited chart does not give the recommended values: ${problem}`;
              if (!matchesBaseline(previous, others(now))) changed.push(`${what} (objects other than ${target.kind} ${target.name})`);
            } else if (!matchesBaseline(previous, now)) changed.push(what);
          }
          if (changed.length === 0) return null;
          return `it would also change what chart ${release} renders with ${changed.join(', ')}; KRR changes only the environment the recommendation is for: write these values in this environment's values-<env>.yaml (<env> as in its kube context or namespace; add the file if it has none), or set them in each of those values files`;
        },
      };
    },
  };
}

/** A rendering before the edit: its objects (canonical JSON) that two renders agree on, and how many it has. */
export interface Baseline {
  stable: string[];
  total: number;
}

export function baselineOf(first: readonly unknown[], second: readonly unknown[]): Baseline {
  const again = countOf(second.map((object) => canonicalJson(object)));
  const stable: string[] = [];
  for (const object of first.map((item) => canonicalJson(item))) {
    const left = again.get(object) ?? 0;
    if (left === 0) continue;
    again.set(object, left - 1);
    stable.push(object);
  }
  return { stable, total: first.length };
}

/** As many objects as before, and every one two renders agreed on is still there, exactly. */
export function matchesBaseline(baseline: Baseline, now: readonly unknown[]): boolean {
  if (now.length !== baseline.total) return false;
  const present = countOf(now.map((object) => canonicalJson(object)));
  return [...countOf(baseline.stable)].every(([object, count]) => (present.get(object) ?? 0) >= count);
}

function countOf(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** Without helm: the workload as far as the values files decide it (each container's resources, later files winning). */
async function mergedValuesWorkload(context: FinderContext, chart: Chart, base: string, env: string | null, located: Located, target: WorkloadTarget, overrides: Record<string, string> = {}): Promise<unknown> {
  const layers = await Promise.all([base, ...(env ? [env] : [])].map(async (name) => parseManifestFile(overrides[name] ?? (await context.files.read(chart.folder, name)), name).documents[0]?.toJS() as unknown));
  const containers = [...located.keys].map(([container, keyPath]) => {
    const resources: Record<string, Record<string, unknown>> = {};
    for (const layer of layers) {
      const block = readPath(layer, [...keyPath, 'resources']) as Record<string, Record<string, unknown>> | undefined;
      for (const allocation of ['requests', 'limits'] as const) if (block?.[allocation]) resources[allocation] = { ...(resources[allocation] ?? {}), ...block[allocation] };
    }
    return { name: container, resources };
  });
  return workloadWithContainers(target, containers);
}
