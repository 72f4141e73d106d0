// `fireact status <id>`: the experiment once, from its progress query when a worker answers within
// seconds, else from what the server knows; failing activities, training progress, missing workers.
import type { Client } from '@temporalio/client';
import { workflowLink } from './connection';
import { inspectExperiment } from './inspect';
import { renderView } from './render';
import { shellQuote } from './shell';
import { rootCause } from './watch';

export async function statusCommand(client: Client, id: string): Promise<void> {
  const view = await inspectExperiment(client, id);
  const closed = view.closeTime ? `, ended ${view.closeTime.toISOString()}` : '';
  console.log(`${id}: ${view.status} (started ${view.startTime.toISOString()}${closed})`);
  console.log(renderView(view));
  if (view.status === 'FAILED') {
    // The failure sits in the result; its innermost cause names what went wrong.
    await client.workflow
      .getHandle(id)
      .result()
      .catch((err: Error) => console.log(`  failed: ${rootCause(err)}`));
  }
  if (view.status === 'CANCELLED') console.log(`  cancelled (continue it with: npx fireact resume ${shellQuote(id)})`);
  console.log(`  UI: ${workflowLink(id)}`);
}
