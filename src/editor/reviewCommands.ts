// The review panel's side of the commands: "KRR: Show Recommendations", the actions the panel calls (its Preview and
// Apply… go through the same previewPlan and applyPlan as the commands), and the panel restored after a window reload.
import * as vscode from 'vscode';
import type { Session } from '../core/session/session';
import { plural } from '../core/text';
import { requesters, type CommandHost } from './commandHost';
import { explainProblem } from './problem';
import { isAbort, showProblem, withCancellableProgress } from './notifications';
import { applyPlan, previewPlan } from './planCommands';
import { ReviewPanel, reviewViewType, type ReviewActions } from './reviewPanel';
import { unresolvedLine } from './reviewRows';
import { tryOnPods } from './trialCommands';

/** What the panel may do through the commands; a failure comes back as its message (and is notified). */
export function reviewActions(host: CommandHost): ReviewActions {
  return {
    preview: async (reportId, workloads, options) => {
      try {
        return await previewPlan(host, reportId, workloads, requesters.reviewPanel, options.includeLimits, options.onProgress);
      } catch (error) {
        if (isAbort(error)) return 'cancelled';
        showProblem(error, host.output);
        return explainProblem(error).message;
      }
    },
    previewManifests: async (reportId, workloads, options) => {
      try {
        const plan = await withCancellableProgress(`KRR: finding the manifests of ${plural(workloads.length, 'workload')}`, (signal) =>
          host.session().proposeManifests({ reportId, workloads, includeLimits: options.includeLimits, target: 'manifests' }, requesters.reviewPanel, signal),
        );
        // The panel lists a bounded number of these and points here: Output has every one, whole.
        const refused = plan.unresolved.filter((item) => !item.alreadyRecommended);
        if (refused.length > 0) {
          host.output.warn(`${plan.id}: ${plural(refused.length, 'workload')} not written:`);
          for (const item of refused) host.output.warn(`  ${unresolvedLine(item)}`);
        }
        return plan;
      } catch (error) {
        if (isAbort(error)) return 'cancelled';
        showProblem(error, host.output);
        return explainProblem(error).message;
      }
    },
    apply: async (planId) => {
      try {
        return await applyPlan(host, planId, requesters.reviewPanel);
      } catch (error) {
        showProblem(error, host.output);
        return explainProblem(error).message;
      }
    },
    tryOnPods: async (reportId, workload) => {
      try {
        return await tryOnPods(host, { reportId, workload }, requesters.reviewPanel);
      } catch (error) {
        if (isAbort(error)) return undefined;
        showProblem(error, host.output);
        return explainProblem(error).message;
      }
    },
    isReadOnly: () => host.readOnly(),
    settings: () => host.settings(),
    log: (line) => host.output.info(line),
    showOutput: () => host.output.show(true),
    closeDiff: async (planId) => {
      await host.closeDiff?.(planId);
    },
    memento: host.memento,
    // All of the report's containers (the reader batches per namespace and caches with the report); cancelled when the
    // panel closes or shows another review.
    evidence: (reportId, signal) => host.session().evidenceFor(reportId, undefined, signal),
  };
}

/** "KRR: Show Recommendations" (and every scan's end): the panel, opened or revealed. */
export function showReviewPanel(host: CommandHost): ReviewPanel {
  const panel = ReviewPanel.show(host.extensionUri, host.session(), reviewActions(host));
  host.reviewed();
  return panel;
}

/**
 * After a window reload VS Code restores the panel: it comes back with the last report and the webview state
 * (selection, filters, sort). No report to restore: the panel shows "Scan Cluster…" instead of an empty table.
 */
export function registerReviewPanelSerializer(host: CommandHost): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(reviewViewType, {
    deserializeWebviewPanel: async (panel) => {
      let session: Session;
      try {
        session = host.session();
        if (!session.currentReview()) await host.restoreReport?.(session);
      } catch (error) {
        panel.dispose();
        showProblem(error, host.output);
        return;
      }
      ReviewPanel.revive(panel, host.extensionUri, session, reviewActions(host));
    },
  });
}
