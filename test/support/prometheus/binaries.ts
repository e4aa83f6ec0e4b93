// Where the built Prometheus, promtool, bcrypt-hash and VictoriaMetrics binaries are: asks their build scripts
// (test/prometheus/build.sh, test/victoriametrics/build.sh), which know the cache keys. Tests never build: a missing
// build fails with the command to run, never a silent skip.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export interface PrometheusBinaries {
  prometheus: string;
  promtool: string;
  bcryptHash: string;
}

export interface VictoriaMetricsBinaries {
  victoriaMetrics: string;
}

const testRoot = resolve(__dirname, '..', '..');
let prometheusCached: PrometheusBinaries | undefined;
let victoriaMetricsCached: VictoriaMetricsBinaries | undefined;

/** The bin directory a build script prints with `--cached-only`, or an error naming the npm script that builds it. */
function cachedBin(tool: 'prometheus' | 'victoriametrics', label: string): string {
  try {
    const output = execFileSync('bash', [join(testRoot, tool, 'build.sh'), '--cached-only'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return output.trim().split('\n').at(-1) ?? '';
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    // `npm test` builds it before its suites (scripts/test-world.ts); a suite run on its own needs it built first.
    throw new Error(`The real ${label} is not built: run \`npm test\` (it builds it first) or \`npm run ${tool}:build\`. ${stderr.trim()}`, { cause: error });
  }
}

export function prometheusBinaries(): PrometheusBinaries {
  if (prometheusCached) return prometheusCached;
  const bin = cachedBin('prometheus', 'Prometheus');
  prometheusCached = { prometheus: join(bin, 'prometheus'), promtool: join(bin, 'promtool'), bcryptHash: join(bin, 'bcrypt-hash') };
  return prometheusCached;
}

export function victoriaMetricsBinaries(): VictoriaMetricsBinaries {
  if (victoriaMetricsCached) return victoriaMetricsCached;
  const bin = cachedBin('victoriametrics', 'VictoriaMetrics');
  victoriaMetricsCached = { victoriaMetrics: join(bin, 'victoria-metrics') };
  return victoriaMetricsCached;
}
