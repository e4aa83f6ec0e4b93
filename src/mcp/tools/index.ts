// Every tool, in the order tools/list shows them; the last two write and need a person's approval.
import type { ToolDefinition } from '../tool';
import { krrApplyPlan } from './krrApplyPlan';
import { krrAuditLog } from './krrAuditLog';
import { krrExplain } from './krrExplain';
import { krrListRecommendations } from './krrListRecommendations';
import { krrListSnapshots } from './krrListSnapshots';
import { krrLoadReport } from './krrLoadReport';
import { krrProposeChanges } from './krrProposeChanges';
import { krrRollback } from './krrRollback';
import { krrScan } from './krrScan';
import { krrStatus } from './krrStatus';

export const tools: readonly ToolDefinition[] = [
  krrStatus,
  krrScan,
  krrLoadReport,
  krrListRecommendations,
  krrExplain,
  krrProposeChanges,
  krrListSnapshots,
  krrAuditLog,
  krrApplyPlan,
  krrRollback,
];
