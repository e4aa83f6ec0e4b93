// krr_list_snapshots: what each apply replaced, i.e. what krr_rollback can restore.
import { z } from 'zod';
import { defineTool, errorResult, okResult } from '../tool';

export const krrListSnapshots = defineTool({
  name: 'krr_list_snapshots',
  title: 'List snapshots',
  description:
    'Lists the snapshots taken before each apply (newest first): id, time, kube context, the plan it belongs to and how many objects it holds. ' +
    'A snapshot is what krr_rollback restores. Next: krr_rollback with a snapshot id, only if the user asks to undo a change.',
  inputSchema: {},
  outputSchema: {
    snapshots: z.array(z.object({ id: z.string(), createdAt: z.string(), context: z.string(), planId: z.string(), kind: z.enum(['apply', 'rollback']), objects: z.number() })),
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handler(_args, _extra, { session }) {
    try {
      const snapshots = await session.listSnapshots();
      const lines = snapshots.length === 0 ? ['No snapshots yet (a snapshot is taken by every apply).'] : snapshots.map((s) => `${s.id}  ${s.createdAt}  ${s.context}  ${s.objects} objects  (${s.kind} ${s.planId})`);
      return okResult(lines.join('\n'), { snapshots });
    } catch (error) {
      return errorResult(error);
    }
  },
});
