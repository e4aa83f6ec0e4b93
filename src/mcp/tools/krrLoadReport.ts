// krr_load_report: reads a krr JSON report from disk instead of scanning (e.g. a report from CI).
import { reportPath, resolveReportPath } from '../arguments';
import { describeSummary, reportSummaryOutput } from '../summary';
import { defineTool, errorResult, okResult } from '../tool';

export const krrLoadReport = defineTool({
  name: 'krr_load_report',
  title: 'Load a krr report file',
  description:
    'Loads a krr report that already exists as a file (krr ... -f json), e.g. from CI, instead of running a scan. ' +
    'path is absolute or relative to the workspace folder. Returns a reportId and the same summary as krr_scan. ' +
    'Next: krr_list_recommendations with the reportId. Proposals from a loaded report still read the live objects of the current context.',
  inputSchema: {
    path: reportPath.describe('path of the krr JSON report: absolute, or relative to the workspace folder'),
  },
  outputSchema: reportSummaryOutput,
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handler(args, _extra, { session, requester, workspaceRoot }) {
    try {
      const summary = await session.loadReport(resolveReportPath(args.path, workspaceRoot), requester());
      return okResult(describeSummary(summary), summary);
    } catch (error) {
      return errorResult(error);
    }
  },
});
