// Client connection for the CLI: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, local dev server by default.
import { Client, Connection } from '@temporalio/client';
import { STAGE_SEARCH_ATTRIBUTE } from '../../core/ids';
import { temporal } from '@temporalio/proto';
import { payloadCodecsFromEnv } from '../../workers/payload-codec';

const address = () => process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const namespace = () => process.env.TEMPORAL_NAMESPACE ?? 'default';
const uiBase = () => process.env.FIREACT_UI_URL ?? 'http://localhost:8233';

export function workflowLink(id: string): string {
  return `${uiBase()}/namespaces/${encodeURIComponent(namespace())}/workflows/${encodeURIComponent(id)}`;
}

export async function connect(): Promise<{ client: Client; connection: Connection }> {
  // With FIREACT_PAYLOAD_KEY set, inputs and results are encrypted as the workers expect (a bad key fails here, before connecting).
  const payloadCodecs = payloadCodecsFromEnv(process.env);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: address(), connectTimeout: '5 seconds' });
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${address()} (${(err as Error).message}). Start the dev server with: npm run dev-server`);
  }
  const dataConverter = payloadCodecs.length ? { payloadCodecs } : undefined;
  return { client: new Client({ connection, namespace: namespace(), dataConverter }), connection };
}

/** Registers the stage search attribute if the namespace lacks it; false when that is not allowed. */
export async function ensureStageSearchAttribute(connection: Connection): Promise<boolean> {
  const ns = namespace();
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: ns });
    if (customAttributes && STAGE_SEARCH_ATTRIBUTE in customAttributes) return true;
    await connection.operatorService.addSearchAttributes({
      namespace: ns,
      searchAttributes: { [STAGE_SEARCH_ATTRIBUTE]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
    });
    return true;
  } catch {
    return false;
  }
}
