// The plan digest: what a human approves. Safety invariant: a hash over (kube context, cluster server URL,
// every target object's identity + resourceVersion, every JSON-patch op), and the usage evidence and HPA projection the
// approval shows (core/evidence/planEvidence, core/hpa/projection). Apply runs only the stored plan whose digest was
// approved, never anything a caller re-sends.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonicalJson';
import type { ObjectChange } from './model';

export function planDigest(input: { context: string; server: string; staged: boolean; objects: readonly ObjectChange[]; trial?: { id: string; line: string } }): string {
  const objects = [...input.objects]
    .map((object) => ({
      apiVersion: object.apiVersion,
      kind: object.kind,
      namespace: object.namespace,
      name: object.name,
      uid: object.uid,
      resourceVersion: object.resourceVersion,
      stage: object.stage,
      ops: object.ops,
      // Only when present, so a plan stored before evidence existed keeps its digest.
      ...(object.evidence ? { evidence: object.evidence } : {}),
      // The HPA projection the dialog shows (core/hpa/projection); only when present, for the same reason.
      ...(object.hpa ? { hpa: object.hpa } : {}),
    }))
    .sort((a, b) => identityKey(a).localeCompare(identityKey(b)));
  // The trial a persist plan carries (its evidence line is in the dialog); only when present, like the evidence.
  return createHash('sha256').update(canonicalJson({ context: input.context, server: input.server, staged: input.staged, objects, ...(input.trial ? { trial: input.trial } : {}) })).digest('hex');
}

function identityKey(object: { namespace: string; kind: string; name: string }): string {
  return `${object.namespace}/${object.kind}/${object.name}`;
}
