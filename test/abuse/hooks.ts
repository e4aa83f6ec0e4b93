// Loaded with `--require` by `npm run test:abuse`, in the main mocha process and in each parallel worker: the
// figures each worker counts are written after every file it runs, and summed once all have finished.
import { clearFigureParts, writeFigurePart, writeFiguresReport } from './figures';

export const mochaHooks = {
  afterAll(): void {
    writeFigurePart();
  },
};

export function mochaGlobalSetup(): void {
  clearFigureParts();
}

export function mochaGlobalTeardown(): void {
  writeFiguresReport();
}
