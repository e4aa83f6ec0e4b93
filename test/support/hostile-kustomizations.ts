// Hostile kustomizations for the tests of issue 22 finding 3: one per path-bearing field kustomize reads (its
// api/types), each naming `url` in that field. Shared by the unit tests of the field checker and the abuse suite.

export const remoteFieldCases: Array<{ field: string; kustomization: (url: string) => Record<string, unknown> }> = [
  { field: 'resources[1]', kustomization: (url) => ({ resources: ['../../base', url] }) },
  { field: 'bases[0]', kustomization: (url) => ({ resources: ['../../base'], bases: [url] }) },
  { field: 'components[0]', kustomization: (url) => ({ resources: ['../../base'], components: [url] }) },
  { field: 'crds[0]', kustomization: (url) => ({ resources: ['../../base'], crds: [url] }) },
  { field: 'configurations[0]', kustomization: (url) => ({ resources: ['../../base'], configurations: [url] }) },
  { field: 'patches[0].path', kustomization: (url) => ({ resources: ['../../base'], patches: [{ path: url }] }) },
  { field: 'patchesStrategicMerge[0]', kustomization: (url) => ({ resources: ['../../base'], patchesStrategicMerge: [url] }) },
  { field: 'patchesJson6902[0].path', kustomization: (url) => ({ resources: ['../../base'], patchesJson6902: [{ path: url, target: { kind: 'Deployment', name: 'web' } }] }) },
  { field: 'replacements[0].path', kustomization: (url) => ({ resources: ['../../base'], replacements: [{ path: url }] }) },
  { field: 'configMapGenerator[0].files[0]', kustomization: (url) => ({ resources: ['../../base'], configMapGenerator: [{ name: 'settings', files: [`key=${url}`] }] }) },
  { field: 'configMapGenerator[0].envs[0]', kustomization: (url) => ({ resources: ['../../base'], configMapGenerator: [{ name: 'settings', envs: [url] }] }) },
  { field: 'configMapGenerator[0].env', kustomization: (url) => ({ resources: ['../../base'], configMapGenerator: [{ name: 'settings', env: url }] }) },
  { field: 'secretGenerator[0].files[0]', kustomization: (url) => ({ resources: ['../../base'], secretGenerator: [{ name: 'token', files: [url] }] }) },
  { field: 'secretGenerator[0].envs[0]', kustomization: (url) => ({ resources: ['../../base'], secretGenerator: [{ name: 'token', envs: [url] }] }) },
  { field: 'openapi.path', kustomization: (url) => ({ resources: ['../../base'], openapi: { path: url } }) },
  { field: 'transformers[0]', kustomization: (url) => ({ resources: ['../../base'], transformers: [url] }) },
  { field: 'transformers[0] (inline)', kustomization: (url) => ({ resources: ['../../base'], transformers: [`apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: fetch\npath: ${url}\n`] }) },
  { field: 'generators[0]', kustomization: (url) => ({ resources: ['../../base'], generators: [url] }) },
  { field: 'validators[0]', kustomization: (url) => ({ resources: ['../../base'], validators: [url] }) },
  { field: 'helmCharts[0].repo', kustomization: (url) => ({ resources: ['../../base'], helmCharts: [{ name: 'evil', repo: url, version: '1.0.0' }] }) },
  { field: 'helmCharts[0].valuesFile', kustomization: (url) => ({ resources: ['../../base'], helmCharts: [{ name: 'local', valuesFile: url }] }) },
  { field: 'helmGlobals.chartHome', kustomization: (url) => ({ resources: ['../../base'], helmGlobals: { chartHome: url } }) },
  { field: 'helmChartInflationGenerator[0].chartRepoUrl', kustomization: (url) => ({ resources: ['../../base'], helmChartInflationGenerator: [{ chartName: 'evil', chartRepoUrl: url }] }) },
];

/**
 * Plugin configuration files (generators, transformers, validators list them): kustomize loads what their own fields
 * name. `files` are written beside the kustomization; `message` is what the refusal says after the kustomization's path.
 */
export const pluginFileCases: Array<{ name: string; kustomization: Record<string, unknown>; files: (url: string) => Record<string, string>; message: (url: string) => string }> = [
  {
    name: 'a PatchTransformer file with a remote path',
    kustomization: { resources: ['../../base'], transformers: ['patch-transformer.yaml'] },
    files: (url) => ({ 'patch-transformer.yaml': `apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: fetch\npath: ${url}\n` }),
    message: (url) => `transformers[0] (patch-transformer.yaml) names remote content (${url})`,
  },
  {
    name: 'a ConfigMapGenerator file with a remote file',
    kustomization: { resources: ['../../base'], generators: ['generator.yaml'] },
    files: (url) => ({ 'generator.yaml': `apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: fetch\nfiles:\n  - ${url}\n` }),
    message: (url) => `generators[0] (generator.yaml) names remote content (${url})`,
  },
  {
    name: 'a validator file with a remote path',
    kustomization: { resources: ['../../base'], validators: ['validator.yaml'] },
    files: (url) => ({ 'validator.yaml': `apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: fetch\npath: ${url}\n` }),
    message: (url) => `validators[0] (validator.yaml) names remote content (${url})`,
  },
  {
    name: 'a directory of transformer configurations (a kustomization whose output is them)',
    kustomization: { resources: ['../../base'], transformers: ['plugins'] },
    files: (url) => ({ 'plugins/kustomization.yaml': 'resources:\n  - patch-transformer.yaml\n', 'plugins/patch-transformer.yaml': `apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: fetch\npath: ${url}\n` }),
    message: () => 'transformers[0] (plugins) is not a plugin configuration file KRR has read',
  },
];
