import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A fresh folder under the run's temporary root (test/global-setup.ts removes it at the end). */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `askpanda-${prefix}-`));
}
