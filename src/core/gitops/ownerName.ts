// A GitOps owner in words, apart from owner.ts (which reads objects through the kube object schemas): the review
// panel words owners in the extension's own bundle, which stays free of zod and yaml (fast activation). The owner's
// type lives here, below owner.ts, so that the two do not import each other.

export type GitOpsTool = 'argocd' | 'flux-kustomize' | 'flux-helm';

export interface GitOpsOwner {
  tool: GitOpsTool;
  /** The Argo CD Application, Flux Kustomization or HelmRelease; null when only managedFields tell (they name no object). */
  name: string | null;
  /** Where that Application/Kustomization/HelmRelease lives, when the object says. */
  namespace?: string;
  /** What was seen, one line each (`annotation argocd.argoproj.io/tracking-id=…`). */
  evidence: string[];
  /**
   * `certain`: the controller's own tracking marks (Argo CD's tracking-id naming this very object, Flux's labels,
   * or the controller owning the containers in managedFields). `hint`: only `app.kubernetes.io/instance`, which
   * Helm sets too; hints are shown, never block.
   */
  confidence: 'certain' | 'hint';
  /** Flux's `kustomize.toolkit.fluxcd.io/reconcile: disabled`: the controller leaves this object alone for now. */
  reconcileDisabled?: boolean;
}

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
