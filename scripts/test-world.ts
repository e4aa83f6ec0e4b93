// `npm run test:world`, the first step of `npm test`: builds (or finds cached) what the suites run against — the
// real control plane (test/control-plane/build.sh), helm (test/helm/build.sh), Prometheus (test/prometheus/build.sh)
// and VictoriaMetrics (test/victoriametrics/build.sh) — so a developer needs only
// `npm ci` and `npm test`. One line per part says what it built and how long it took. The suites themselves never
// build: they ask the same scripts with `--cached-only` and fail with the command to run.
import * as path from 'node:path';

export interface WorldPart {
  /** Names the part in the output ("control plane"). */
  label: string;
  /** A cached-Go-build script: `--cached-only` exits 0 when built and 3 when not; without it, it builds. */
  script: string;
  /** What a build makes and what it costs, shown before a build starts (it may take many minutes). */
  builds: string;
}

const repoRoot = path.resolve(__dirname, '..');

export const testWorld: readonly WorldPart[] = [
  {
    label: 'control plane',
    script: path.join(repoRoot, 'test', 'control-plane', 'build.sh'),
    builds: "kube-apiserver, kube-controller-manager and etcd from Kubernetes' Go modules, once per machine (about 25 min from an empty Go cache on 2 busy cores)",
  },
  {
    label: 'helm',
    script: path.join(repoRoot, 'test', 'helm', 'build.sh'),
    builds: 'helm from its Go module, once per machine (about 2.5 min from an empty Go cache)',
  },
  {
    label: 'Prometheus',
    script: path.join(repoRoot, 'test', 'prometheus', 'build.sh'),
    builds: 'prometheus and promtool 3.16.0 from their Go module, once per machine (about 7 min from an empty Go build cache on 2 cores busy with other builds)',
  },
  {
    label: 'VictoriaMetrics',
    script: path.join(repoRoot, 'test', 'victoriametrics', 'build.sh'),
    builds: 'single-node VictoriaMetrics v1.151.0 from its Go module, once per machine (about 1 min from an empty Go build cache on 2 busy cores)',
  },
];

/** What `--cached-only` exits with when the binaries are not built yet (test/support/cached-go-build.sh). */
const notBuiltExitCode = 3;

function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000));
}

/** Builds each part that is not cached, in order (one at a time: a control-plane build alone needs ~2 GB and both cores). */
export async function prepareTestWorld(parts: readonly WorldPart[], print: (line: string) => void): Promise<void> {
  const { execa } = await import('execa');
  for (const part of parts) {
    const started = performance.now();
    const cached = await execa('bash', [part.script, '--cached-only'], { reject: false });
    if (cached.exitCode === 0) {
      print(`test world: ${part.label} cached (${seconds(performance.now() - started)} s)`);
      continue;
    }
    // Any other refusal (no Go, too old a Go) is the script's own message about what to install.
    if (cached.exitCode !== notBuiltExitCode) throw new Error(`test world: ${part.label} cannot be built: ${cached.stderr.trim() || cached.stdout.trim()}`);
    print(`test world: building the ${part.label}: ${part.builds}…`);
    // The Go compiler's errors go straight to the terminal; the script's own progress lines are summed up in one line below.
    const build = await execa('bash', [part.script], { reject: false, stdout: 'pipe', stderr: 'inherit' });
    if (build.exitCode !== 0) throw new Error(`test world: building the ${part.label} failed (exit ${build.exitCode}; ${part.script}):\n${build.stdout.trim()}`);
    print(`test world: ${part.label} built in ${seconds(performance.now() - started)} s`);
  }
}

if (require.main === module) {
  prepareTestWorld(testWorld, (line) => console.log(line)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
