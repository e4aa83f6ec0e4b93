// A Session wired to the Kubernetes API test server (real kubectl) and the krr stand-in, with a scripted
// human at the approval seam. Shared by the session, MCP and abuse suites.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Plan } from '../../src/core/plan/model';
import type { TrialPlan } from '../../src/core/trial/model';
import type { ManifestPlan } from '../../src/core/gitops/model';
import type { ApprovalDecision, ApprovalText, Approver } from '../../src/core/model';
import { Session, type SessionOptions } from '../../src/core/session/session';
import { parseSessionSettings, type SessionSettings } from '../../src/core/settings';
import { startTestCluster, type StartClusterOptions, type TestCluster } from './test-cluster';

export const krrStandIn = path.resolve(__dirname, 'bin', 'krr');

export type HumanAnswer = 'approve' | 'decline' | 'wrong-digest' | 'never' | ((plan: Plan, text: ApprovalText) => Promise<ApprovalDecision> | ApprovalDecision);

/** The human at the approval seam: answers each dialog as scripted (default: decline). */
export class ScriptedHuman implements Approver {
  readonly shown: Plan[] = [];
  readonly asked: Array<{ plan: Plan; text: ApprovalText }> = [];
  answer: HumanAnswer = 'decline';

  async show(plan: Plan): Promise<void> {
    this.shown.push(plan);
  }

  /** A manifest write is asked like any plan: the same script answers it (and it is recorded in `asked`). */
  async requestManifestApproval(plan: ManifestPlan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    return this.requestApproval(plan as unknown as Plan, text, signal);
  }

  /** A trial is asked like any plan: the same script answers it (and it is recorded in `asked`). */
  async requestTrialApproval(plan: TrialPlan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    return this.requestApproval(plan as unknown as Plan, text, signal);
  }

  async requestApproval(plan: Plan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    this.asked.push({ plan, text });
    const answer = this.answer;
    if (typeof answer === 'function') return answer(plan, text);
    if (answer === 'approve') return { outcome: 'approved', digest: plan.digest };
    if (answer === 'wrong-digest') return { outcome: 'approved', digest: '0'.repeat(64) };
    if (answer === 'never') return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ outcome: 'timeout' }), { once: true }));
    return { outcome: 'declined', reason: 'Cancel clicked' };
  }
}

export interface SessionFixture {
  cluster: TestCluster;
  session: Session;
  human: ScriptedHuman;
  stateDir: string;
  settings: SessionSettings;
  logs: string[];
  close(): Promise<void>;
}

export async function startSessionFixture(options: { settings?: Record<string, unknown>; cluster?: StartClusterOptions; session?: Partial<SessionOptions> } = {}): Promise<SessionFixture> {
  const cluster = await startTestCluster(options.cluster ?? {});
  const stateDir = mkdtempSync(path.join(tmpdir(), 'krr-session-'));
  const human = new ScriptedHuman();
  // No typed confirmation and no decline cool-down unless a test asks: most tests decline and apply again in one context.
  const settings = parseSessionSettings({ krrPath: krrStandIn, kubectlPath: 'kubectl', kubeconfig: cluster.kubeconfigPath, confirmByTyping: [], declineCooldownSeconds: 0, ...options.settings });
  const logs: string[] = [];
  const session = new Session({
    settings: () => fixture.settings,
    approver: human,
    stateDir,
    kubectlCacheDir: path.join(stateDir, 'kube-cache'),
    log: (line) => logs.push(line),
    ...options.session,
  });
  const fixture: SessionFixture = {
    cluster,
    session,
    human,
    stateDir,
    settings,
    logs,
    async close() {
      session.dispose();
      await cluster.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return fixture;
}

export const human = { type: 'human' as const, via: 'test' };
export const model = { type: 'model' as const, via: 'test-client' };

/** Container resources of a workload in the test cluster, by container name. */
export function resourcesOf(cluster: TestCluster, apiVersion: string, kind: string, namespace: string, name: string): Record<string, unknown> {
  const object = cluster.getObject(apiVersion, kind, namespace, name) as { spec: { template: { spec: { containers: Array<{ name: string; resources?: unknown }> } } } } | undefined;
  if (!object) throw new Error(`${kind} ${namespace}/${name} is not in the test cluster`);
  return Object.fromEntries(object.spec.template.spec.containers.map((container) => [container.name, container.resources ?? null]));
}
