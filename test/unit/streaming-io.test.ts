// The keep-alive fetch that model and search clients use, and the artifact store's streamed writes
// and reads that curation and dataset builds use, against a real local HTTP server and a real folder.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { createArtifactStore } from '../../lib/artifacts/store';
import { keepAliveFetch } from '../../lib/net/keepalive-fetch';
import { ErrorType } from '../../core/errors';

void describe('keepAliveFetch', () => {
  let server: http.Server;
  let base: string;
  const seen: Array<{ method?: string; url?: string; body: string; auth?: string; length?: string }> = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, body, auth: req.headers.authorization, length: req.headers['content-length'] });
        if (req.url === '/json') {
          res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining-requests': '7' });
          res.end(JSON.stringify({ echo: JSON.parse(body || 'null') as unknown, héllo: 'wörld' }));
        } else if (req.url === '/bom') {
          res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
          res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('ünï'), Buffer.from([0xff])]));
        } else if (req.url === '/gzip') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          res.end(zlib.gzipSync(JSON.stringify({ zipped: true })));
        } else if (req.url === '/see-other') {
          res.writeHead(303, { location: '/json' });
          res.end();
        } else if (req.url === '/empty') {
          res.writeHead(204);
          res.end();
        } else if (req.url === '/slow') {
          setTimeout(() => res.end('late'), 5000).unref();
        } else {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('no such thing');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  void test('a POST with a JSON body: status, headers and body as fetch gives them', async () => {
    const res = await keepAliveFetch(`${base}/json`, { method: 'POST', headers: new Headers({ 'content-type': 'application/json', authorization: 'Bearer k' }), body: JSON.stringify({ a: [1, 'ü'] }) });
    assert.equal(res.status, 200);
    assert.equal(res.ok, true);
    assert.equal(res.headers.get('x-ratelimit-remaining-requests'), '7');
    assert.deepEqual(await res.json(), { echo: { a: [1, 'ü'] }, héllo: 'wörld' });
    const last = seen.at(-1)!;
    assert.equal(last.method, 'POST');
    assert.equal(last.auth, 'Bearer k');
    assert.equal(last.length, String(Buffer.byteLength(JSON.stringify({ a: [1, 'ü'] }))));
  });

  void test('a gzip body is decoded; a 404 is a response, not an error; 204 has no body', async () => {
    assert.deepEqual(await (await keepAliveFetch(`${base}/gzip`)).json(), { zipped: true });
    const missing = await keepAliveFetch(new URL(`${base}/nope`));
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'no such thing');
    const empty = await keepAliveFetch(`${base}/empty`);
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);
  });

  void test('the body, read from memory, behaves as a standard Response body: once, as text, bytes, stream or clone', async () => {
    const res = await keepAliveFetch(`${base}/bom`);
    assert.ok(res instanceof Response);
    assert.equal(res.bodyUsed, false);
    assert.deepEqual(res.headers.get('set-cookie'), 'a=1, b=2');
    const copy = res.clone();
    // As Response.text(): the leading BOM dropped, a bad byte as U+FFFD.
    assert.equal(await res.text(), 'ünï\uFFFD');
    assert.equal(res.bodyUsed, true);
    await assert.rejects(res.text(), TypeError);
    await assert.rejects(res.arrayBuffer(), TypeError);
    assert.throws(() => res.clone(), TypeError);
    assert.equal(Buffer.from(await copy.arrayBuffer()).toString('hex'), 'efbbbfc3bc6ec3afff');
    const streamed = await keepAliveFetch(`${base}/json`);
    const chunks: Uint8Array[] = [];
    for await (const c of streamed.body!) chunks.push(c);
    assert.equal(JSON.parse(Buffer.concat(chunks).toString('utf8')).héllo, 'wörld');
    assert.equal(streamed.bodyUsed, true);
    await assert.rejects(streamed.json(), TypeError);
  });

  void test('303 is followed with a GET and no body', async () => {
    const res = await keepAliveFetch(`${base}/see-other`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' });
    assert.equal(res.status, 200);
    assert.deepEqual(seen.at(-1), { method: 'GET', url: '/json', body: '', auth: undefined, length: undefined });
  });

  void test('an abort rejects with the signal\'s reason; a refused connection is "fetch failed" with the code in the cause', async () => {
    const ctl = new AbortController();
    const reason = new Error('cancelled by the activity');
    setTimeout(() => ctl.abort(reason), 50);
    await assert.rejects(keepAliveFetch(`${base}/slow`, { signal: ctl.signal }), (err) => err === reason);
    await assert.rejects(keepAliveFetch(`${base}/json`, { signal: AbortSignal.abort() }), (err: Error) => err.name === 'AbortError');
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(keepAliveFetch(`http://127.0.0.1:${port}/`), (err: Error) => {
      assert.ok(err instanceof TypeError);
      assert.equal(err.message, 'fetch failed');
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
      return true;
    });
  });
});

void describe('artifact store: streamed writes and reads', () => {
  let root: string;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'fireact-stream-'));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  void test('a streamed JSONL file is byte for byte what writeJsonl writes, and reads back row by row', async () => {
    const store = createArtifactStore(root);
    const rows = Array.from({ length: 3000 }, (_, i) => ({ i, text: `row ${i} ${'é'.repeat(i % 700)}` }));
    const whole = await store.writeJsonl('whole.jsonl', rows);
    const w = await store.openWriter('streamed/rows.jsonl');
    for (const r of rows) await w.write(JSON.stringify(r) + '\n');
    const streamed = await w.close(rows.length);
    assert.deepEqual({ ...streamed, path: whole.path }, whole);
    assert.equal(await fs.readFile(path.join(root, 'streamed/rows.jsonl'), 'utf8'), await fs.readFile(path.join(root, 'whole.jsonl'), 'utf8'));
    const back: unknown[] = [];
    for await (const r of store.jsonlRows(streamed)) back.push(r);
    assert.deepEqual(back, rows);
    assert.deepEqual(await fs.readdir(path.join(root, 'streamed')), ['rows.jsonl']);
  });

  void test('a file changed since it was written fails its read, naming it; an aborted write leaves nothing', async () => {
    const store = createArtifactStore(root);
    const ref = await store.writeJsonl('changed.jsonl', [{ a: 1 }, { a: 2 }]);
    await fs.writeFile(path.join(root, 'changed.jsonl'), '{"a":1}\n{"a":3}\n');
    await assert.rejects(
      (async () => {
        for await (const _ of store.jsonlRows(ref)) void _;
      })(),
      (err) => err instanceof ApplicationFailure && err.type === ErrorType.ArtifactCorrupt && /artifact changed\.jsonl changed since it was written/.test(err.message),
    );
    const w = await store.openWriter('aborted/a.jsonl');
    await w.write('{"x":1}\n');
    await w.abort();
    assert.deepEqual(await fs.readdir(path.join(root, 'aborted')), []);
  });
});
