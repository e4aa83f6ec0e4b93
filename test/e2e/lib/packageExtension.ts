// `vsce package` of the extension as it ships, for installing into code-server (run-ui.ts and demo.ts).
import fs from 'node:fs';
import path from 'node:path';
import { e2eRoot, loadExeca, node24, repoRoot } from './codeServer';

const vsceEntry = path.join(e2eRoot, 'node_modules', '@vscode', 'vsce', 'vsce');

/** What the root extension ships, unless its package.json lists `files`: esbuild bundles everything into dist/. */
const shippedByDefault = ['package.json', 'dist', 'media', 'README.md', 'LICENSE', 'LICENSE.md', 'CHANGELOG.md'];

/**
 * `vsce package` of a staged copy holding only what the extension ships: vsce walks the whole folder otherwise
 * (test/e2e/node_modules alone is 27,000 files), and no node_modules go in since esbuild bundles.
 */
export async function packageExtension(extensionPath: string, runDir: string): Promise<string> {
  const { execa } = await loadExeca();
  const manifestFile = path.join(extensionPath, 'package.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as {
    name: string;
    version: string;
    files?: string[];
    scripts?: Record<string, string>;
  };
  // vsce would run the prepublish script inside the stage, where the sources are not: run it here instead.
  if (manifest.scripts?.['vscode:prepublish']) {
    await execa('npm', ['run', '--silent', 'vscode:prepublish'], { cwd: extensionPath, stdio: 'inherit', timeout: 180_000 });
  } else if (extensionPath === repoRoot) {
    await execa('node', ['esbuild.mjs', '--production'], { cwd: repoRoot, stdio: 'inherit', timeout: 180_000 });
  }
  const stage = path.join(runDir, `stage-${manifest.name}`);
  const shipped = extensionPath === repoRoot ? (manifest.files ?? shippedByDefault) : fs.readdirSync(extensionPath);
  for (const entry of new Set(shipped)) {
    if (entry === 'package.json' || (extensionPath !== repoRoot && ['out', 'integration', 'node_modules'].includes(entry))) continue;
    const source = path.join(extensionPath, entry);
    if (fs.existsSync(source)) fs.cpSync(source, path.join(stage, entry), { recursive: true, filter: (file) => !file.endsWith('.map') });
  }
  const { scripts: _scripts, ...stagedManifest } = manifest;
  fs.mkdirSync(stage, { recursive: true });
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(stagedManifest, null, 2) + '\n');
  const vsix = path.join(runDir, `${manifest.name}-${manifest.version}.vsix`);
  const result = await execa(
    node24,
    [vsceEntry, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '--out', vsix],
    { cwd: stage, all: true, reject: false, timeout: 120_000 },
  );
  fs.rmSync(stage, { recursive: true, force: true });
  if (result.exitCode !== 0) throw new Error(`vsce package failed for ${extensionPath}:\n${result.all ?? ''}`);
  return vsix;
}

