// krr_status: which krr, kubectl and cluster this server talks to; the first call of a conversation.
import { z } from 'zod';
import { orNull } from '../portable';
import { defineTool, errorResult, okResult } from '../tool';

export const krrStatus = defineTool({
  name: 'krr_status',
  title: 'KRR status',
  description:
    'Shows what this server works with: the krr and kubectl versions, the kube context and API server, whether the cluster is reachable, whether changes are disabled (read-only), ' +
    'and whether a write can be approved in this session and how (approval: the VS Code dialog, an MCP elicitation form in your client, or nobody — then every write is refused). ' +
    'Call it first, or when another tool reports a krr or kubectl problem. Next: krr_scan to get recommendations.',
  inputSchema: {},
  outputSchema: {
    krr: z.object({ path: z.string(), version: orNull(z.string(), 'not found'), warning: orNull(z.string(), 'none'), error: orNull(z.string(), 'none') }),
    kubectl: z.object({ path: z.string(), client: orNull(z.string(), 'not found'), server: orNull(z.string(), 'unknown (not reachable)'), error: orNull(z.string(), 'none') }),
    context: orNull(z.string(), 'no context resolved'),
    server: orNull(z.string(), 'no context resolved'),
    reachable: z.boolean(),
    readOnly: z.boolean(),
    readOnlyReason: orNull(z.string(), 'writes are enabled'),
    approval: z.object({ canApprove: z.boolean(), path: z.enum(['editor', 'elicitation', 'input-request', 'none']), how: z.string() }),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(_args, extra, { session, approvalChannel }) {
    try {
      const status = await session.status(extra.signal);
      const approval = status.readOnly ? { canApprove: false, path: 'none' as const, how: 'Writes are disabled (read-only): nothing can be approved here.' } : approvalChannel();
      const lines = [
        `krr: ${status.krr.version ?? 'not found'} (${status.krr.path})${status.krr.error ? ` — ${status.krr.error}` : ''}${status.krr.warning ? ` — ${status.krr.warning}` : ''}`,
        `kubectl: client ${status.kubectl.client ?? 'not found'}, server ${status.kubectl.server ?? 'unknown'}${status.kubectl.error ? ` — ${status.kubectl.error}` : ''}`,
        `context: ${status.context ?? '(none)'}  server: ${status.server ?? '(unknown)'}  reachable: ${status.reachable ? 'yes' : 'no'}`,
        status.readOnly ? `read-only: changes are disabled${status.readOnlyReason ? ` (${status.readOnlyReason})` : ''}` : 'read-only: no (every change needs a person’s approval)',
        `approval: ${approval.canApprove ? 'possible' : 'NOT possible'} — ${approval.how}`,
      ];
      return okResult(lines.join('\n'), { ...status, approval });
    } catch (error) {
      return errorResult(error);
    }
  },
});
