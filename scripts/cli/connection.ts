// Client connection for the CLI: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, local dev server by default.
import { Client, Connection } from '@temporalio/client';
import { fromPayloadsAtIndex, type LoadedDataConverter, type Payload } from '@temporalio/common';
import { STAGE_SEARCH_ATTRIBUTE } from '../../core/ids';
import { temporal } from '@temporalio/proto';
import { payloadCodecsFromEnv } from '../../workers/payload-codec';

const address = () => process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const namespace = () => process.env.TEMPORAL_NAMESPACE ?? 'default';
const uiBase = () => process.env.FIREACT_UI_URL ?? 'http://localhost:8233';

/** The value at `index` of payloads read from the server: through the client's codecs (last first), then its converter. */
export async function decodePayloadAt<T>(converter: LoadedDataConverter, index: number, payloads: Payload[] | null | undefined): Promise<T> {
  let decoded = payloads ?? [];
  for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  return fromPayloadsAtIndex<T>(converter.payloadConverter, index, decoded);
}

/** A protobuf timestamp from the server as a Date (undefined when absent). */
export function timestampToDate(ts: { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined): Date | undefined {
  if (!ts) return undefined;
  return new Date(Number(ts.seconds?.toString() ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

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
