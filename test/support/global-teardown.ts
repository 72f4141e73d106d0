// jest's globalTeardown: removes the run's workflow bundle (test/support/global-setup.ts).
import { promises as fs } from 'node:fs';
import path from 'node:path';

export default async function globalTeardown(): Promise<void> {
  const file = process.env.FIREACT_WORKFLOW_BUNDLE;
  if (file && path.basename(path.dirname(file)).startsWith('fireact-jest-')) await fs.rm(path.dirname(file), { recursive: true, force: true });
}
