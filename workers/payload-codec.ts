// Optional payload encryption: an AES-256-GCM PayloadCodec for the client and the workers, so that
// workflow inputs, results, heartbeat details and memos are stored by Temporal as ciphertext. The key
// comes from the environment (FIREACT_PAYLOAD_KEY, 32 bytes as base64 or hex); each encrypted payload
// names its key id, so a key can be rotated while older histories stay readable (FIREACT_PAYLOAD_OLD_KEYS).
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const PAYLOAD_KEY_ENV = 'FIREACT_PAYLOAD_KEY';
/** Comma-separated keys that may still decrypt (after a rotation), never used to encrypt. */
export const PAYLOAD_OLD_KEYS_ENV = 'FIREACT_PAYLOAD_OLD_KEYS';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PayloadKey {
  id: string;
  key: Buffer;
}

/** Thrown when a payload cannot be decrypted; the message says which key it needs and why it failed. */
class PayloadDecryptError extends Error {
  override name = 'PayloadDecryptError';
}

/** Parses a 32-byte key written as 64 hex digits or base64; the message never repeats the value. */
export function parsePayloadKey(text: string, what = PAYLOAD_KEY_ENV): PayloadKey {
  const t = text.trim();
  let key: Buffer;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  else throw new Error(`${what} must be 32 bytes written as 64 hex digits or base64`);
  if (key.length !== 32) throw new Error(`${what} must be 32 bytes (AES-256); it decodes to ${key.length} bytes`);
  // The id is a digest, not the key: it may be shown and stored in every payload.
  return { id: createHash('sha256').update('fireact-payload-key\0').update(key).digest('hex').slice(0, 16), key };
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : '');

export interface AesGcmCodecOptions {
  /** Encrypts with this key. */
  key: PayloadKey;
  /** Also accepted when decrypting (keys rotated out). */
  oldKeys?: PayloadKey[];
}

export function createAesGcmCodec(opts: AesGcmCodecOptions): PayloadCodec {
  const keys = new Map<string, Buffer>([...(opts.oldKeys ?? []), opts.key].map((k) => [k.id, k.key]));

  function encryptOne(payload: Payload): Payload {
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', opts.key.key, iv);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return {
      metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(opts.key.id) },
      data: Buffer.concat([iv, body, cipher.getAuthTag()]),
    };
  }

  function decryptOne(payload: Payload): Payload {
    if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
    const id = text(payload.metadata?.[KEY_ID_METADATA]);
    const key = keys.get(id);
    if (!key) {
      throw new PayloadDecryptError(
        `payload was encrypted with key id "${id}", which this process does not have (its ${PAYLOAD_KEY_ENV} has id "${opts.key.id}"; put an older key in ${PAYLOAD_OLD_KEYS_ENV})`,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptError(`encrypted payload (key id "${id}") is too short to be valid`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    } catch {
      throw new PayloadDecryptError(`encrypted payload (key id "${id}") failed authentication: it was altered or the key is wrong`);
    }
  }

  return {
    encode: async (payloads) => payloads.map(encryptOne),
    decode: async (payloads) => payloads.map(decryptOne),
  };
}

/** The codecs for a data converter: none when FIREACT_PAYLOAD_KEY is unset (payloads stay plain JSON). */
export function payloadCodecsFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadCodec[] {
  const raw = env[PAYLOAD_KEY_ENV];
  if (!raw?.trim()) return [];
  const oldKeys = (env[PAYLOAD_OLD_KEYS_ENV] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s, i) => parsePayloadKey(s, `${PAYLOAD_OLD_KEYS_ENV} entry ${i + 1}`));
  return [createAesGcmCodec({ key: parsePayloadKey(raw), oldKeys })];
}
