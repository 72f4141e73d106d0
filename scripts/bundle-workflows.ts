// `npm run bundle-workflows -- <file>`: writes the workflow bundle a worker would build at start, for
// FIREACT_WORKFLOW_BUNDLE (workers then start without bundling). Rebuild it whenever the code changes.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { bundleWorkflows } from '../workers/workflow-bundle';

/** Writes the bundle to file atomically (a worker starting meanwhile never reads half of it). */
export async function writeWorkflowBundle(file: string): Promise<void> {
  const { code } = await bundleWorkflows();
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, code);
  await fs.rename(tmp, file);
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file || process.argv.length > 3) {
    process.stderr.write('usage: npm run bundle-workflows -- <file>\n');
    process.exit(2);
  }
  writeWorkflowBundle(path.resolve(file)).then(
    () => process.stdout.write(`${path.resolve(file)}\n`),
    (err: unknown) => {
      process.stderr.write(`bundle-workflows failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
