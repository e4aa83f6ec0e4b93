// The heavy half of the extension (core, MCP SDK, zod, yaml), bundled apart as dist/engine.js and loaded on
// first use (src/editor/engine.ts), so that activating the extension only loads the thin editor layer.
export { Session } from './core/session/session';
export { Kubectl, listContexts } from './core/kube/kubectl';
export { startHttpHost } from './mcp/http';
export { readSessionSettings } from './editor/settings';
export { checkNewFileTarget, manifestFileHash } from './core/gitops/apply';
export { predictPolicyBlocks, reportNameProblems } from './core/reportCheck';
export { describeTrial } from './core/session/session';
export { trialKindProblem } from './core/trial/plan';
export { describeWindow } from './core/trial/approval';
