// The one output shape of a GitOps owner (core/gitops/owner.ts), shared by the tools that show it.
import { z } from 'zod';
import { orNull } from './portable';

export const gitopsOwnerSchema = z
  .object({
    tool: z.enum(['argocd', 'flux-kustomize', 'flux-helm']),
    name: orNull(z.string(), 'only managedFields tell; they name no Application or Kustomization'),
    namespace: z.string().optional(),
    evidence: z.array(z.string()),
    confidence: z.enum(['certain', 'hint']),
  })
  .describe('Argo CD or Flux reconciles this object from Git (read from its labels, annotations and managedFields)');
