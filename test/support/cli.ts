// Runs the `fireact` command as a user does, against the given Temporal address.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../scripts/support/paths';

const exec = promisify(execFile);

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function runFireact(args: string[], address: string, env: NodeJS.ProcessEnv = {}, cwd = REPO_ROOT): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [path.join(REPO_ROOT, 'bin', 'fireact.js'), ...args], {
      cwd,
      env: { ...process.env, TEMPORAL_ADDRESS: address, ...env },
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}
