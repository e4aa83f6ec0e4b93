// Where the built control-plane binaries are: asks test/control-plane/build.sh, which knows the cache key.
// Tests never build: a missing build fails with the command to run, never a silent skip.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export interface ControlPlaneBinaries {
  kubeApiserver: string;
  kubeControllerManager: string;
  etcd: string;
}

const buildScript = resolve(__dirname, '..', '..', 'control-plane', 'build.sh');
let cached: ControlPlaneBinaries | undefined;

export function controlPlaneBinaries(): ControlPlaneBinaries {
  if (cached) return cached;
  let output: string;
  try {
    output = execFileSync('bash', [buildScript, '--cached-only'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    // `npm test` builds it before its suites (scripts/test-world.ts); a suite run on its own needs it built first.
    throw new Error(`The real control plane is not built: run \`npm test\` (it builds it first) or \`npm run control-plane:build\`. ${stderr.trim()}`, { cause: error });
  }
  const bin = output.trim().split('\n').at(-1) ?? '';
  cached = { kubeApiserver: join(bin, 'kube-apiserver'), kubeControllerManager: join(bin, 'kube-controller-manager'), etcd: join(bin, 'etcd') };
  return cached;
}
