// Every tool, in the order tools/list shows them; the write tools (readOnlyHint false) come last: krr_apply_plan and
// krr_rollback need a person's approval, krr_revert_trial ends a trial a person approved.
import type { ToolDefinition } from '../tool';
import { krrApplyPlan } from './krrApplyPlan';
import { krrAuditLog } from './krrAuditLog';
import { krrExplain } from './krrExplain';
import { krrListRecommendations } from './krrListRecommendations';
import { krrListSnapshots } from './krrListSnapshots';
import { krrPersistTrial } from './krrPersistTrial';
import { krrLoadReport } from './krrLoadReport';
import { krrProposeChanges } from './krrProposeChanges';
import { krrProposeTrial } from './krrProposeTrial';
import { krrRevertTrial } from './krrRevertTrial';
import { krrRollback } from './krrRollback';
import { krrScan } from './krrScan';
import { krrStatus } from './krrStatus';
import { krrTrialStatus } from './krrTrialStatus';

export const tools: readonly ToolDefinition[] = [
  krrStatus,
  krrScan,
  krrLoadReport,
  krrListRecommendations,
  krrExplain,
  krrProposeChanges,
  krrProposeTrial,
  krrTrialStatus,
  krrPersistTrial,
  krrListSnapshots,
  krrAuditLog,
  krrApplyPlan,
  krrRollback,
  krrRevertTrial,
];
