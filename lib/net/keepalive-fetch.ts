// A `fetch` for small JSON requests (model completions, search): node:http(s) over keep-alive agents,
// the body read whole, then wrapped in a Response that reads it from memory. Node's built-in fetch
// (undici with WHATWG streams) costs about twice the CPU per request, and an episode makes half a
// dozen of them; see `npm run bench`. Anything it does not handle (a Request object, a streamed or form body, another
// scheme) goes to the built-in fetch, so callers may pass it wherever a fetch is expected.
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';

// Hundreds of episodes call one server at once: keep that many idle connections (the default keeps
// 256 and reconnects the rest).
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxFreeSockets: 2048 }),
  'https:': new https.Agent({ keepAlive: true, maxFreeSockets: 2048 }),
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NULL_BODY = new Set([101, 204, 205, 304]);
const MAX_REDIRECTS = 20;

type Input = Parameters<typeof fetch>[0];

const utf8 = new TextDecoder();

// Typed as a plain base: the DOM typings declare Response's methods as properties, which a subclass
// may not override with methods; at run time this is Node's Response.
const ResponseBase = Response as unknown as new (body: null, init: ResponseInit) => Omit<Response, 'body' | 'bodyUsed' | 'text' | 'json' | 'arrayBuffer' | 'blob' | 'bytes' | 'formData' | 'clone'>;

/**
 * A standard Response over a body already in memory: text(), json() and arrayBuffer() read the
 * bytes directly (a standard Response would wrap them in a byte stream and read that back, a fifth
 * of the fetch's CPU); `body`, and what reads it, get a standard Response made on first use.
 */
class BufferedResponse extends ResponseBase {
  readonly #bytes: Buffer;
  readonly #init: ResponseInit;
  #used = false;
  #streamed: Response | undefined;

  constructor(bytes: Buffer, init: ResponseInit) {
    super(null, init);
    this.#bytes = bytes;
    this.#init = init;
  }

  #standard(): Response {
    this.#streamed ??= new Response(this.#used ? null : this.#bytes, this.#init);
    return this.#streamed;
  }

  /** The bytes, once, as a standard body is read once. */
  #take(): Buffer {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    return this.#bytes;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#standard().body;
  }
  get bodyUsed(): boolean {
    return this.#used || (this.#streamed?.bodyUsed ?? false);
  }
  text(): Promise<string> {
    if (this.#streamed) return this.#streamed.text();
    try {
      // As Response.text(): UTF-8 with a leading BOM dropped, bad bytes as U+FFFD.
      return Promise.resolve(utf8.decode(this.#take()));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#streamed) return this.#streamed.arrayBuffer();
    try {
      const b = this.#take();
      return Promise.resolve(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
  blob(): Promise<Blob> {
    return this.#standard().blob();
  }
  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.arrayBuffer());
  }
  formData(): Promise<FormData> {
    // Kept so this stays a whole Response; nothing here sends form bodies.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    return this.#standard().formData();
  }
  clone(): Response {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    return this.#streamed ? this.#streamed.clone() : (new BufferedResponse(this.#bytes, { ...this.#init, headers: new Headers(this.headers) }) as unknown as Response);
  }
}

function headerPairs(h: RequestInit['headers']): Array<[string, string]> {
  if (!h) return [];
  if (h instanceof Headers) return [...h.entries()];
  if (Array.isArray(h)) return h.map(([k, v]) => [k, v]);
  return Object.entries(h).map(([k, v]) => [k, typeof v === 'string' ? v : v.join(', ')]);
}

function plainBody(body: RequestInit['body']): string | Uint8Array | undefined | false {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  return false;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function decode(encoding: string | undefined, raw: Buffer): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(raw);
    case 'deflate':
      return zlib.inflateSync(raw);
    case 'br':
      return zlib.brotliDecompressSync(raw);
    default:
      return raw;
  }
}

function once(url: URL, method: string, headers: Array<[string, string]>, body: string | Uint8Array | undefined, signal: AbortSignal | null | undefined) {
  return new Promise<{ status: number; statusText: string; headers: Array<[string, string]>; body: Buffer }>((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const outgoing: Record<string, string> = {};
    for (const [k, v] of headers) outgoing[k.toLowerCase()] = v;
    const req = (url.protocol === 'https:' ? https : http).request(url, { method, headers: outgoing, agent: agents[url.protocol as 'http:' | 'https:'] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', fail);
      res.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        let raw: Buffer = Buffer.concat(chunks);
        const encoding = res.headers['content-encoding'];
        const decoded = Boolean(encoding && raw.length);
        if (decoded) {
          try {
            raw = decode(encoding, raw);
          } catch (err) {
            return reject(new TypeError('fetch failed', { cause: err }));
          }
        }
        // Pairs, not a Headers object filled one call at a time: the Response builds its own once.
        const h: Array<[string, string]> = [];
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined || (decoded && (k === 'content-encoding' || k === 'content-length'))) continue;
          if (Array.isArray(v)) for (const one of v) h.push([k, one]);
          else h.push([k, v]);
        }
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: h, body: raw });
      });
    });
    function fail(err: Error) {
      signal?.removeEventListener('abort', onAbort);
      // As the built-in fetch reports it: the cause carries the code (ECONNREFUSED, ECONNRESET...).
      reject(signal?.aborted ? abortReason(signal) : new TypeError('fetch failed', { cause: err }));
    }
    function onAbort() {
      req.destroy();
      reject(abortReason(signal!));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.end(body);
  });
}

/** Same contract as the global fetch for the requests it serves; see the file's comment. */
export async function keepAliveFetch(input: Input, init: RequestInit = {}): Promise<Response> {
  const body = plainBody(init.body);
  const href = typeof input === 'string' ? input : input instanceof URL ? input.href : undefined;
  if (href === undefined || body === false) return fetch(input, init);
  let url = new URL(href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fetch(input, init);
  let method = (init.method ?? 'GET').toUpperCase();
  let sent: string | Uint8Array | undefined = body;
  let headers = headerPairs(init.headers);
  for (let hop = 0; ; hop++) {
    const r = await once(url, method, headers, sent, init.signal);
    const location = r.headers.find(([k]) => k === 'location')?.[1];
    if (REDIRECTS.has(r.status) && location && init.redirect !== 'manual') {
      if (init.redirect === 'error' || hop >= MAX_REDIRECTS) throw new TypeError('fetch failed', { cause: new Error(`redirect to ${location} refused`) });
      // As fetch does: 303 (and 301/302 after a POST) turn into a GET without a body.
      if (r.status === 303 || ((r.status === 301 || r.status === 302) && method === 'POST')) {
        method = 'GET';
        sent = undefined;
        headers = headers.filter(([k]) => !/^content-(type|length)$/i.test(k));
      }
      const next = new URL(location, url);
      // Credentials stay with their origin.
      if (next.origin !== url.origin) headers = headers.filter(([k]) => k.toLowerCase() !== 'authorization');
      url = next;
      continue;
    }
    const responseInit = { status: r.status, statusText: r.statusText, headers: r.headers };
    return NULL_BODY.has(r.status) ? new Response(null, responseInit) : (new BufferedResponse(r.body, responseInit) as unknown as Response);
  }
}
