// What a Kubernetes 1.33 kubelet reports when a container outgrows its memory limit, as pure functions for the node
// simulator. Each rule cites the source it follows (k8s.io/kubernetes@v1.33.13, client-go@v0.33.13):
// - the kill: the runtime (containerd, CRI-O) reports an OOM-killed container as exited with code 137 (SIGKILL) and
//   reason "OOMKilled"; kubelet_pods.go convertToAPIContainerStatuses turns that into state.terminated
//   {exitCode, reason, startedAt, finishedAt, containerID} and, once a new container replaces it, lastState;
// - restartCount: the attempt number the runtime labels each container with (kuberuntime_container.go: the last
//   container's count + 1), so it grows when the replacement starts, not at the kill;
// - crash-loop back-off: kuberuntime_manager.go doBackOff with kubelet.go's flowcontrol.Backoff (10 s initial,
//   doubling, 300 s max, forgotten 600 s after its last update, no jitter): the first failure restarts at once, a
//   later one waits; meanwhile state.waiting {reason "CrashLoopBackOff", message "back-off 10s restarting failed
//   container=app pod=name_namespace(uid)"}, and the container is neither started nor ready;
// - a resize allocated for a container resets its back-off (kubelet.go handlePodResourcesResize);
// - restartPolicy: Always and OnFailure restart a container that exited non-zero, Never leaves it terminated;
// - ContainersReady / Ready: status/generate.go, False with reason ContainersNotReady and message
//   "containers with unready status: [app]" while a container is not ready; reason PodFailed once the pod failed
//   (a restartPolicy Never pod whose containers all terminated, kubelet_pods.go getPhase).
import { amount, type ContainerStatus, type PodCondition, type Resources } from './resize';

/** What a container demands, as a test sets it: Kubernetes quantities. */
export interface SimulatedUsage {
  /** Working-set bytes it would use with no limit (e.g. '300Mi'). */
  memory?: string;
  /** Cores it would use with no limit (e.g. '250m'). */
  cpu?: string;
}

/** The kubelet's crash-loop back-off: the first delay, the longest; forgotten after twice the longest (600 s vs 300 s). */
export interface CrashLoopBackOff {
  initialMs: number;
  maxMs: number;
}

/** kubelet.go initialCrashLoopBackOff and MaxContainerBackOff. */
export const kubeletCrashLoopBackOff: CrashLoopBackOff = { initialMs: 10_000, maxMs: 300_000 };
/** The simulator's default: the kubelet's, ten times shorter, so a test sees a crash loop in seconds. */
export const defaultCrashLoopBackOff: CrashLoopBackOff = { initialMs: 1_000, maxMs: 30_000 };
/** How long a container whose memory demand is above its limit runs (at the limit) before the kernel kills it. */
export const defaultOomKillDelayMs = 500;

export const oomKilledExitCode = 137;
export const oomKilledReason = 'OOMKilled';
export const crashLoopBackOffReason = 'CrashLoopBackOff';

/** One container's flowcontrol.Backoff entry. */
export interface BackOffEntry {
  backoffMs: number;
  lastUpdate: number;
}

/** A container status as the simulator writes it (the fields a kubelet sets beside those resize.ts reads). */
export interface LiveContainerStatus extends ContainerStatus {
  ready?: boolean;
  started?: boolean;
  state?: {
    running?: { startedAt?: string };
    waiting?: { reason?: string; message?: string };
    terminated?: Terminated;
  };
  lastState?: { terminated?: Terminated };
}

export interface Terminated {
  exitCode: number;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  containerID?: string;
}

export interface ContainerStep {
  status: LiveContainerStatus;
  /** The back-off entry after this sync (undefined: none). */
  backOff: BackOffEntry | undefined;
}

export interface ContainerContext {
  /** Bytes the container demands; undefined: nobody said, so it is never OOM-killed. */
  memoryDemand: bigint | undefined;
  /** The memory limit it runs with (status resources on a 1.33 node, else the spec); undefined: none. */
  memoryLimit: bigint | undefined;
  /** The resources a (re)started container gets: the allocation; undefined on a node without in-place resize (none reported). */
  allocated: Resources | undefined;
  restartPolicy: string;
  backOff: BackOffEntry | undefined;
  settings: CrashLoopBackOff & { oomKillDelayMs: number };
  now: number;
  /** kubelet's format.Pod: `name_namespace(uid)`. */
  podDesc: string;
  /** The containerID of attempt `restartCount`. */
  containerId(restartCount: number): string;
}

/** Bytes of a memory quantity, millicores of a CPU one; undefined stays undefined. */
export function bytesOf(quantity: string | undefined): bigint | undefined {
  return quantity === undefined ? undefined : amount('memory', quantity);
}
export function millicoresOf(quantity: string | undefined): bigint | undefined {
  return quantity === undefined ? undefined : amount('cpu', quantity);
}

/** flowcontrol.Backoff hasExpired with the kubelet's HasExpiredFunc: no failure for twice the longest delay. */
function expired(entry: BackOffEntry, eventTime: number, settings: CrashLoopBackOff): boolean {
  return eventTime - entry.lastUpdate > 2 * settings.maxMs;
}

/** flowcontrol.Backoff.IsInBackOffSince: still waiting out the delay counted from the last exit. */
export function inBackOffSince(entry: BackOffEntry | undefined, eventTime: number, now: number, settings: CrashLoopBackOff): boolean {
  if (!entry || expired(entry, eventTime, settings)) return false;
  return now - eventTime < entry.backoffMs;
}

/** flowcontrol.Backoff.Next: the initial delay for a new or forgotten entry, else double (capped). */
export function nextBackOff(entry: BackOffEntry | undefined, eventTime: number, now: number, settings: CrashLoopBackOff): BackOffEntry {
  if (!entry || expired(entry, eventTime, settings)) return { backoffMs: settings.initialMs, lastUpdate: now };
  return { backoffMs: Math.min(entry.backoffMs * 2, settings.maxMs), lastUpdate: now };
}

/** Go's time.Duration String for whole milliseconds (what the back-off message prints): 10s, 1m20s, 1.5s, 500ms. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  return `${hours ? `${hours}h` : ''}${hours || minutes ? `${minutes}m` : ''}${seconds}s`;
}

/**
 * One kubelet sync of one container: an OOM kill when its demand exceeds its limit and it has run oomKillDelayMs; a
 * restart at once after a first failure, else CrashLoopBackOff until the back-off has passed; nothing otherwise.
 * Returns the same status object when nothing changed.
 */
export function stepContainer(status: LiveContainerStatus, context: ContainerContext): ContainerStep {
  const { now, settings } = context;
  const stamp = new Date(now).toISOString();
  const restartCount = status.restartCount ?? 0;
  const restart = (backOff: BackOffEntry, lastState: { terminated?: Terminated } | undefined): ContainerStep => ({
    status: {
      ...status,
      restartCount: restartCount + 1,
      containerID: context.containerId(restartCount + 1),
      ready: true,
      started: true,
      state: { running: { startedAt: stamp } },
      ...(lastState ? { lastState } : {}),
      // A 1.33 kubelet starts it with the allocation and reports that; an older one reports no resources.
      ...(context.allocated ? { resources: context.allocated } : {}),
    },
    backOff,
  });
  const running = status.state?.running;
  if (running) {
    const startedAt = Date.parse(running.startedAt ?? stamp);
    const over = context.memoryDemand !== undefined && context.memoryLimit !== undefined && context.memoryDemand > context.memoryLimit;
    if (!over || now - startedAt < settings.oomKillDelayMs) return { status, backOff: context.backOff };
    const terminated: Terminated = { exitCode: oomKilledExitCode, reason: oomKilledReason, startedAt: running.startedAt ?? stamp, finishedAt: stamp, ...(status.containerID ? { containerID: status.containerID } : {}) };
    if (context.restartPolicy === 'Never') return { status: { ...status, ready: false, started: false, state: { terminated } }, backOff: context.backOff };
    if (!inBackOffSince(context.backOff, now, now, settings)) return restart(nextBackOff(context.backOff, now, now, settings), { terminated });
    return { status: waiting(status, context.backOff as BackOffEntry, terminated, context.podDesc), backOff: context.backOff };
  }
  const last = status.lastState?.terminated;
  if (status.state?.waiting?.reason === crashLoopBackOffReason && last?.finishedAt) {
    const finishedAt = Date.parse(last.finishedAt);
    if (inBackOffSince(context.backOff, finishedAt, now, settings)) return { status, backOff: context.backOff };
    return restart(nextBackOff(context.backOff, finishedAt, now, settings), undefined);
  }
  return { status, backOff: context.backOff };
}

/** The status of an exited container waiting out its back-off: the dead container's ID and count, its end as lastState. */
function waiting(status: LiveContainerStatus, backOff: BackOffEntry, terminated: Terminated, podDesc: string): LiveContainerStatus {
  const message = `back-off ${goDuration(backOff.backoffMs)} restarting failed container=${status.name} pod=${podDesc}`;
  return { ...status, ready: false, started: false, state: { waiting: { reason: crashLoopBackOffReason, message } }, lastState: { terminated } };
}

/**
 * ContainersReady and Ready from the containers' readiness (status/generate.go): True with neither reason nor message,
 * or False with reason ContainersNotReady and Go's `[a b]` list of the unready; lastTransitionTime moves only on a change.
 */
export function withReadiness(conditions: readonly PodCondition[], statuses: readonly LiveContainerStatus[], phase: string, now: string): PodCondition[] {
  const unready = statuses.filter((status) => status.ready !== true).map((status) => status.name);
  const wanted: Omit<PodCondition, 'type'> =
    phase === 'Failed' ? { status: 'False', reason: 'PodFailed' } : unready.length === 0 ? { status: 'True' } : { status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  return conditions.map((condition) => {
    if (condition.type !== 'ContainersReady' && condition.type !== 'Ready') return condition;
    if (condition.status === wanted.status && condition.reason === wanted.reason && condition.message === wanted.message) return condition;
    const { reason: _reason, message: _message, ...rest } = condition;
    return { ...rest, ...wanted, lastTransitionTime: condition.status === wanted.status ? condition.lastTransitionTime : now };
  });
}
