// `npm run codec-server`: the Temporal codec server protocol over HTTP (POST /decode and /encode, body
// `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`), so the Temporal UI started with
// `--ui-codec-endpoint http://localhost:8888` shows encrypted payloads decoded. It binds to 127.0.0.1:
// whoever reaches it can decrypt, so it is for the machine that runs the UI's browser.
// Env: FIREACT_PAYLOAD_KEY (required), FIREACT_CODEC_PORT (default 8888), FIREACT_UI_URL (CORS origin,
// default http://localhost:8233).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { PAYLOAD_KEY_ENV, payloadCodecsFromEnv } from '../workers/payload-codec';

export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface CodecServerOptions {
  codecs: PayloadCodec[];
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Browser origins allowed to call it (the Temporal UI's). */
  allowedOrigins: string[];
  /** Largest request body accepted (default 8 MiB). */
  maxBodyBytes?: number;
}

export interface CodecServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function payloadFromJson(p: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v, 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

export function payloadToJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

function isJsonPayloads(v: unknown): v is { payloads: JsonPayload[] } {
  return typeof v === 'object' && v !== null && Array.isArray((v as { payloads?: unknown }).payloads);
}

export function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  const maxBody = opts.maxBodyBytes ?? 8 * 1024 * 1024;
  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin && opts.allowedOrigins.includes(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      res.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization');
      res.setHeader('vary', 'origin');
    }
    const send = (status: number, value: unknown) => {
      const body = JSON.stringify(value);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const route = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
    const op = route === '/decode' ? 'decode' : route === '/encode' ? 'encode' : undefined;
    if (req.method !== 'POST' || !op) {
      send(404, { error: 'use POST /decode or POST /encode' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) {
        send(413, { error: `body larger than ${maxBody} bytes` });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        send(400, { error: 'body is not JSON' });
        return;
      }
      if (!isJsonPayloads(parsed)) {
        send(400, { error: 'body must be { "payloads": [...] }' });
        return;
      }
      // Codecs apply in order on encode and in reverse on decode, as the SDK's data converter does.
      const run = async (payloads: Payload[]) => {
        let out = payloads;
        const codecs = op === 'encode' ? opts.codecs : [...opts.codecs].reverse();
        for (const c of codecs) out = await c[op](out);
        return out;
      };
      run(parsed.payloads.map(payloadFromJson)).then(
        (out) => send(200, { payloads: out.map(payloadToJson) }),
        (err: unknown) => send(400, { error: err instanceof Error ? err.message : String(err) }),
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

async function main(): Promise<void> {
  const codecs = payloadCodecsFromEnv(process.env);
  if (codecs.length === 0) throw new Error(`set ${PAYLOAD_KEY_ENV} (the key the workers use) to run the codec server`);
  const port = Number(process.env.FIREACT_CODEC_PORT ?? 8888);
  const ui = process.env.FIREACT_UI_URL ?? 'http://localhost:8233';
  // The UI may be opened as localhost or 127.0.0.1; both are the same machine.
  const origins = [...new Set([ui, ui.replace('//localhost', '//127.0.0.1'), ui.replace('//127.0.0.1', '//localhost')])];
  const s = await startCodecServer({ codecs, port, allowedOrigins: origins });
  process.stdout.write(`codec server on ${s.url} (POST /decode, /encode) for ${origins.join(', ')}\n`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`codec server failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
