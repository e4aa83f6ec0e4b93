// Renders test/e2e/icon/icon.svg to media/icon.png (128×128, the Marketplace's icon size) with the Chromium the UI
// tests use, so the manifest's icon needs no image library. Run after editing the SVG: npx tsx test/e2e/icon/render.ts
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumPath } from '../lib/browser';
import { repoRoot } from '../lib/codeServer';

async function main(): Promise<void> {
  const svg = fs.readFileSync(path.join(__dirname, 'icon.svg'), 'utf8');
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 128, height: 128 }, deviceScaleFactor: 1 });
    await page.setContent(`<!DOCTYPE html><html><body style="margin:0;background:transparent">${svg}</body></html>`);
    const target = path.join(repoRoot, 'media', 'icon.png');
    await page.locator('svg').screenshot({ path: target, omitBackground: true });
    console.log(`wrote ${target}`);
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
