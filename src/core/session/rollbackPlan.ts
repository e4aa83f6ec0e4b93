// A rollback is a plan built from a snapshot: only the objects and fields the apply wrote, and only where they
// still hold what it wrote (the rest are conflicts). Apart from rollback.ts so that apply.ts can propose one too.
import type { WorkloadKind } from '../krr/model';
import type { Plan } from '../plan/model';
import type { PlanTarget } from '../plan/propose';
import { rollbackTarget } from '../plan/rollback';
import type { Requester } from '../model';
import { messageOf, type SessionContext, SessionError, truncate } from './context';
import { proposeThroughCluster, storePlan } from './propose';

export interface RollbackOptions {
  /** Only these objects of the snapshot; default: every object the apply wrote. */
  objects?: Array<{ namespace: string; kind: string; name: string }>;
  /** Also restore fields someone changed since the apply (overwrites their change); default false. */
  includeConflicts?: boolean;
}

/**
 * A rollback is a plan built from a snapshot: the same diff, approval and apply path as any other. It restores
 * only objects the apply wrote, and in them only the fields it wrote that still hold what it wrote; a field
 * someone changed since is a conflict, left as it is unless `includeConflicts` (the person asked for it).
 */
export async function proposeRollback(ctx: SessionContext, snapshotId: string, requester: Requester, options: RollbackOptions = {}): Promise<Plan> {
  const settings = ctx.options.settings();
  let snapshot;
  try {
    snapshot = await ctx.snapshots.get(snapshotId);
  } catch (error) {
    throw new SessionError('unknown-snapshot', `Snapshot ${truncate(snapshotId)} cannot be read: ${messageOf(error)}`, 'List snapshots (krr_list_snapshots) and pick an id from there.');
  }
  const wanted = options.objects ? new Set(options.objects.map((o) => `${o.namespace}/${o.kind}/${o.name}`)) : null;
  const selected = snapshot.objects.filter((object) => !wanted || wanted.has(`${object.ref.namespace}/${object.ref.kind}/${object.ref.name}`));
  if (selected.length === 0) throw new SessionError('invalid-argument', 'None of the requested objects is in that snapshot.', 'Omit `objects` to roll back the whole snapshot.');
  // An object the apply did not write holds nobody's change of ours: restoring it could only revert someone else's.
  const written = selected.filter((object) => object.written);
  if (written.length === 0) throw new SessionError('invalid-argument', `The apply of snapshot ${snapshot.id} wrote none of ${wanted ? 'these objects' : 'its objects'}; there is nothing to roll back.`, 'Pick a snapshot whose apply wrote something (krr_list_snapshots).');
  const targets: PlanTarget[] = written.map((object) => {
    const ref = { namespace: object.ref.namespace, kind: object.ref.kind as WorkloadKind, name: object.ref.name };
    return { ref, desired: new Map(), notes: [], resolve: (live) => rollbackTarget(object, live, ref, options.includeConflicts ?? false) };
  });
  const target = await ctx.resolveTarget(settings, snapshot.context);
  if (target.server !== snapshot.server) throw new SessionError('kubectl', `Context ${snapshot.context} now points at ${target.server}, not ${snapshot.server} where the snapshot was taken.`, 'Fix the kubeconfig; a rollback goes only to the cluster the snapshot came from.');
  const plan = await proposeThroughCluster(ctx, targets, {
    settings,
    context: snapshot.context,
    server: snapshot.server,
    requester,
    kind: 'rollback',
    staged: false,
    // Restoring the prior state may remove a limit this extension added; that is what rollback means.
    allowLimitRemoval: true,
    now: ctx.now(),
    sourceSnapshotId: snapshotId,
  });
  return storePlan(ctx, plan);
}
