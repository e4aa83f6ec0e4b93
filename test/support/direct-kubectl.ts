// Loaded first by mocha (.mocharc `require`), in the main process and in each parallel worker. On machines like
// this one, `kubectl` on PATH is the Google Cloud SDK's version dispatcher (/usr/lib/google-cloud-sdk/bin/kubectl):
// a Go program that asks the server for its version and then execs the matching `kubectl.1.NN` beside it. That
// doubles the CPU of every kubectl call (0.24 s against 0.12 s measured), and the unit and abuse suites make about
// 2,500 of them on two cores. The suites talk to one server whose version is known (test/control-plane/go.mod), so
// they put a directory first on PATH whose `kubectl` is that very binary: the same program the dispatcher would run,
// without the dispatcher. Elsewhere (a plain kubectl on PATH) nothing changes. The VS Code suites keep the dispatcher.
import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');

/** The directory of the dispatcher's versioned siblings, or null when `kubectl` on PATH is not a dispatcher layout. */
function versionedKubectl(minor: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'kubectl');
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    const sibling = path.join(path.dirname(real), `kubectl.1.${minor}`);
    return path.basename(real) === 'kubectl' && existsSync(sibling) ? sibling : null;
  }
  return null;
}

function controlPlaneMinor(): string | null {
  const goMod = readFileSync(path.join(repoRoot, 'test', 'control-plane', 'go.mod'), 'utf8');
  return /^\s*k8s\.io\/kubernetes v1\.(\d+)\./m.exec(goMod)?.[1] ?? null;
}

const minor = controlPlaneMinor();
const target = minor === null ? null : versionedKubectl(minor);
if (target !== null) {
  const dir = path.join(tmpdir(), `krr-test-kubectl-1.${minor}`);
  mkdirSync(dir, { recursive: true });
  const link = path.join(dir, 'kubectl');
  try {
    symlinkSync(target, link);
  } catch (error) {
    // Another worker made it first (same target), or an earlier run did.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (realpathSync(link) !== realpathSync(target)) throw new Error(`${link} points elsewhere than ${target}: remove it`);
  process.env.PATH = `${dir}${path.delimiter}${process.env.PATH ?? ''}`;
}
