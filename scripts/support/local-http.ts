// What the local test servers share: a node:http server on 127.0.0.1 whose handler gets each
// request with its body read whole, JSON replies, and a close that does not wait on hanging requests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface LocalServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `handle` on 127.0.0.1 (port 0, the default: a free one), called once a request's body has arrived. */
export function serveLocal(handle: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void, port = 0): Promise<LocalServer> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            // Hanging requests would keep close() waiting forever; a second close has nothing left to do.
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
