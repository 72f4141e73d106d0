// Workflow histories to and from Temporal's JSON form (the form `temporal workflow show -o json`
// writes). @temporalio/common's historyToJSON / historyFromJSON fail here with "type must be a
// Type": npm installed two copies of protobufjs 8 (one under @temporalio/common, one under
// @temporalio/proto) and protojson checks types against its own copy. So this converts with the
// protojson of the copy that built the proto types.
import path from 'node:path';
import * as proto from '@temporalio/proto';
// eslint-disable-next-line no-restricted-imports -- no package exports patchProtobufRoot (@temporalio/common re-exports it only from its own lib/ too), and the copy check above needs it
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

export type History = proto.temporal.api.history.v1.IHistory;

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, opts?: { ignoreUnknownFields?: boolean }): History | null;
}

function protojson(): ProtoJson {
  const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as ProtoJson;
}

function historyType(): unknown {
  const root = patchProtobufRoot(proto as unknown as Record<string, unknown>) as unknown as { lookupType(name: string): unknown };
  return root.lookupType('temporal.api.history.v1.History');
}

/** The history as a plain JSON value in Temporal's JSON form. */
export function historyToJsonValue(history: History): unknown {
  return protojson().toJson(historyType(), proto.temporal.api.history.v1.History.fromObject(history));
}

/** A History from Temporal's JSON form (as written by historyToJsonValue). */
export function historyFromJsonValue(json: unknown): History {
  const h = protojson().fromJson(historyType(), json, { ignoreUnknownFields: true });
  if (!h) throw new TypeError('invalid history JSON');
  return h;
}
