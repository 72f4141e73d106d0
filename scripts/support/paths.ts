import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DATA_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'fireact');

export function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `fireact-${prefix}-`));
}
