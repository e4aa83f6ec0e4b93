// A GitOps owner in words, apart from owner.ts (which reads objects through the kube object schemas): the review
// panel words owners in the extension's own bundle, which stays free of zod and yaml (fast activation).
import type { GitOpsOwner, GitOpsTool } from './owner';

export const gitOpsToolNames: Readonly<Record<GitOpsTool, string>> = {
  argocd: 'Argo CD Application',
  'flux-kustomize': 'Flux Kustomization',
  'flux-helm': 'Flux HelmRelease',
};

/** The owner in words: "Argo CD Application argocd/shop", "Flux Kustomization flux-system/apps", "Flux HelmRelease". */
export function describeOwner(owner: GitOpsOwner): string {
  const name = owner.name === null ? '' : ` ${owner.namespace ? `${owner.namespace}/` : ''}${owner.name}`;
  return `${gitOpsToolNames[owner.tool]}${name}`;
}
