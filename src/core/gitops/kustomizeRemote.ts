// Which fields of a kustomization make kustomize fetch something from the network. The workspace is hostile input:
// `kubectl kustomize` downloads any http(s) URL it is given as a file (patches, generator files, openapi, crds, …) and
// clones any git spec it is given as a root (resources, bases, components). KRR never fetches: a kustomization that
// names remote content anywhere is refused, with the field that names it, and is not rendered at all.
//
// The field list follows kustomize's own types (api/types: Kustomization, Patch, ConfigMapArgs/SecretArgs and their
// KvPairSources, ReplacementField, HelmGlobals, HelmChart, HelmChartArgs).
import { parse } from 'yaml';

/** A remote reference found in a kustomization: where (`patches[2].path`) and what. */
export interface RemoteReference {
  field: string;
  value: string;
}

// Remote by form, whatever exists locally (kustomize tries a git spec before the local directory of the same name):
// a URL scheme (http, https, ssh, file, git, s3, …), a go-getter forced getter (`git::`, `s3::`), SCP-style ssh
// (`git@host:org/repo`, `user@host:path`), the `//` that separates a repository from its subdirectory, a `?ref=` /
// `?version=` query, a `.git` or Azure `_git` repository segment, and the hosts kustomize and go-getter expand
// without a scheme.
const remoteForm = [
  /^[a-z][a-z0-9+.-]*:\/\//i,
  /^[a-z0-9]+::/i,
  /^[^\s/@:]+@[^\s/:]+:/,
  /\/\//,
  /[?&](?:ref|version|timeout|submodules)=/i,
  /\.git(?:$|[/?#])/i,
  /(?:^|\/)_git\//,
  /^(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|dev\.azure\.com|ssh\.dev\.azure\.com|[a-z0-9-]+\.visualstudio\.com)(?:[:/]|$)/i,
];
// A domain-looking first segment (`example.com/org/repo`): remote for older kustomize (go-getter); a local
// directory with such a name is still local, so this one is remote only when nothing exists at that path.
const hostForm = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?::\d+)?\//i;

/** Whether `value` names remote content; `existsLocally` answers for the domain-looking form only. */
export function isRemoteReference(value: string, existsLocally: (entry: string) => boolean = () => false): boolean {
  const entry = value.trim();
  if (remoteForm.some((pattern) => pattern.test(entry))) return true;
  return hostForm.test(entry) && !existsLocally(entry);
}

type Json = unknown;

function record(value: Json): Record<string, Json> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, Json>) : null;
}

function list(value: Json): Json[] {
  return Array.isArray(value) ? value : [];
}

/**
 * Every remote reference in a parsed kustomization (or Component), in field order. Path-bearing fields only: an
 * image name (`gcr.io/app`) or an annotation holding a URL is not fetched and is not refused.
 */
export function remoteReferences(kustomization: Json, existsLocally: (entry: string) => boolean = () => false): RemoteReference[] {
  const spec = record(kustomization);
  if (!spec) return [];
  const found: RemoteReference[] = [];
  const check = (field: string, value: Json) => {
    if (typeof value === 'string' && isRemoteReference(value, existsLocally)) found.push({ field, value });
  };
  const checkList = (field: string, value: Json) => list(value).forEach((entry, index) => check(`${field}[${index}]`, entry));
  // Roots and files listed by path.
  for (const field of ['resources', 'bases', 'components', 'crds', 'configurations']) checkList(field, spec[field]);
  // Plugin configurations: a path, or an inline YAML configuration whose own fields (a PatchTransformer's `path`, a
  // HelmChartInflationGenerator's `repo`) kustomize loads as well; every string of an inline one is checked.
  for (const field of ['generators', 'transformers', 'validators']) {
    list(spec[field]).forEach((entry, index) => {
      if (typeof entry === 'string' && entry.includes('\n')) {
        const value = remoteStringIn(inlineValue(entry));
        if (value !== undefined) found.push({ field: `${field}[${index}] (inline)`, value });
      } else check(`${field}[${index}]`, entry);
    });
  }
  for (const field of ['patches', 'patchesJson6902', 'replacements']) list(spec[field]).forEach((entry, index) => check(`${field}[${index}].path`, record(entry)?.path));
  // A strategic-merge entry is a path or an inline patch (it holds a newline); only a path is loaded.
  list(spec.patchesStrategicMerge).forEach((entry, index) => {
    if (typeof entry === 'string' && !entry.includes('\n')) check(`patchesStrategicMerge[${index}]`, entry);
  });
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    list(spec[field]).forEach((entry, index) => {
      const generator = record(entry);
      if (!generator) return;
      // `files` entries are `path` or `key=path`.
      list(generator.files).forEach((file, fileIndex) => check(`${field}[${index}].files[${fileIndex}]`, typeof file === 'string' ? file.slice(file.indexOf('=') + 1) : file));
      checkList(`${field}[${index}].envs`, generator.envs);
      check(`${field}[${index}].env`, generator.env);
    });
  }
  const openapi = record(spec.openapi);
  if (openapi) for (const [key, value] of Object.entries(openapi)) check(`openapi.${key}`, value);
  const helmGlobals = record(spec.helmGlobals);
  if (helmGlobals) for (const key of ['chartHome', 'configHome']) check(`helmGlobals.${key}`, helmGlobals[key]);
  list(spec.helmCharts).forEach((entry, index) => {
    const chart = record(entry);
    if (!chart) return;
    // A chart with a repo is pulled by helm; any repo is remote by definition, whatever its form.
    if (typeof chart.repo === 'string' && chart.repo.trim() !== '') found.push({ field: `helmCharts[${index}].repo`, value: chart.repo });
    check(`helmCharts[${index}].valuesFile`, chart.valuesFile);
    checkList(`helmCharts[${index}].additionalValuesFiles`, chart.additionalValuesFiles);
  });
  list(spec.helmChartInflationGenerator).forEach((entry, index) => {
    const chart = record(entry);
    if (!chart) return;
    if (typeof chart.chartRepoUrl === 'string' && chart.chartRepoUrl.trim() !== '') found.push({ field: `helmChartInflationGenerator[${index}].chartRepoUrl`, value: chart.chartRepoUrl });
    for (const key of ['chartHome', 'helmHome', 'values']) check(`helmChartInflationGenerator[${index}].${key}`, chart[key]);
  });
  return found;
}

/** An inline plugin configuration, parsed with aliases off (kustomize's own YAML needs none); the text if not YAML. */
function inlineValue(text: string): unknown {
  try {
    return parse(text, { maxAliasCount: 0 });
  } catch {
    return text;
  }
}

/**
 * The first string of a plugin configuration (inline, or a file `generators`/`transformers`/`validators` lists) that
 * has a remote form: its own fields (a PatchTransformer's `path`, a generator's `files`, a chart's `repo`) are loaded
 * by kustomize too. Only the unambiguous forms count here (a URL scheme, git spec, `//`, …): a configuration also
 * holds image names such as `gcr.io/app`, which are not fetched.
 */
export function remoteStringIn(value: unknown, depth = 0): string | undefined {
  if (typeof value === 'string') return isRemoteReference(value, () => true) ? value : undefined;
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  for (const item of Object.values(value as Record<string, unknown>)) {
    const found = remoteStringIn(item, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** One line for a person: which field names what, and that nothing was fetched. */
export function describeRemoteReference(file: string, reference: RemoteReference): string {
  return `${file}: ${reference.field} names remote content (${reference.value}); KRR never lets kustomize fetch anything, so this kustomization is not rendered`;
}
