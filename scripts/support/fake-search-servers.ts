// Real HTTP servers on 127.0.0.1 that answer like SerpAPI and the MediaWiki Action API, with canned
// content, so the search clients are tested over the wire (status codes, JSON shapes, timeouts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveLocal } from './local-http';

export interface RecordedRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  headers: IncomingMessage['headers'];
}

export interface FailureSpec {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** How many requests fail before normal service resumes; default: all of them. */
  times?: number;
}

export interface FakeServer {
  url: string;
  /** Every request received, in order (its length is the request count). */
  requests: RecordedRequest[];
  /** Make the following requests fail with this status. */
  failWith(failure: FailureSpec): void;
  /** Hold every answer back this long (for timeout tests), or as long as the function says for its parameters. */
  setDelay(ms: number | ((params: Record<string, string>) => number)): void;
  close(): Promise<void>;
}

type Handler = (params: Record<string, string>, path: string) => { status: number; body: unknown };

async function startFakeServer(handle: Handler): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  let failure: (FailureSpec & { left: number }) | undefined;
  let delay: number | ((params: Record<string, string>) => number) = 0;
  const timers = new Set<NodeJS.Timeout>();

  const respond = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const params = Object.fromEntries(url.searchParams);
    requests.push({ method: req.method ?? 'GET', path: url.pathname, params, headers: req.headers });
    let status: number;
    let body: string;
    let headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (failure && failure.left > 0) {
      failure.left -= 1;
      status = failure.status;
      body = failure.body ?? JSON.stringify({ error: `fake failure ${failure.status}` });
      headers = { ...headers, ...failure.headers };
    } else {
      const answer = handle(params, url.pathname);
      status = answer.status;
      body = JSON.stringify(answer.body);
    }
    const send = (): void => {
      timers.delete(timer);
      res.writeHead(status, headers).end(body);
    };
    const timer = setTimeout(send, typeof delay === 'number' ? delay : delay(params));
    timers.add(timer);
  };

  const server = await serveLocal(respond);
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    failWith(spec) {
      failure = { ...spec, left: spec.times ?? Number.POSITIVE_INFINITY };
    },
    setDelay(ms) {
      delay = ms;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await server.close();
    },
  };
}

// ---- SerpAPI ----

/** What Google shows for one query; keys and shapes as in SerpAPI's search.json. */
export interface SerpApiCanned {
  answer_box?: Record<string, unknown> | Record<string, unknown>[];
  knowledge_graph?: Record<string, unknown>;
  organic_results?: Array<{ title: string; link?: string; snippet?: string }>;
}

export interface FakeSerpApiOptions {
  apiKey: string;
  /** Keyed by the exact query `q`; any other query gets SerpAPI's empty-result answer. */
  results: Record<string, SerpApiCanned>;
}

export function startFakeSerpApi(options: FakeSerpApiOptions): Promise<FakeServer> {
  let searches = 0;
  return startFakeServer((params, path) => {
    if (path !== '/search.json') return { status: 404, body: { error: `no route ${path}` } };
    if (params.api_key !== options.apiKey) {
      return { status: 401, body: { error: 'Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key' } };
    }
    if (!params.q) return { status: 400, body: { error: 'Missing query `q` parameter.' } };
    searches += 1;
    const id = `fake${String(searches).padStart(8, '0')}`;
    const search_metadata = { id, status: 'Success', json_endpoint: `https://serpapi.com/searches/${id}.json`, total_time_taken: 0.42 };
    const search_parameters = { engine: params.engine, q: params.q, google_domain: params.google_domain, hl: params.hl, gl: params.gl };
    const canned = options.results[params.q];
    if (!canned) {
      return {
        status: 200,
        body: { search_metadata, search_parameters, search_information: { organic_results_state: 'Fully empty' }, error: "Google hasn't returned any results for this query." },
      };
    }
    const organic_results = (canned.organic_results ?? []).map((r, i) => ({
      position: i + 1,
      title: r.title,
      link: r.link ?? `https://example.org/${i + 1}`,
      displayed_link: 'example.org',
      ...(r.snippet !== undefined ? { snippet: r.snippet } : {}),
    }));
    return {
      status: 200,
      body: {
        search_metadata,
        search_parameters,
        search_information: { organic_results_state: 'Results for exact spelling', total_results: organic_results.length },
        ...(canned.answer_box ? { answer_box: canned.answer_box } : {}),
        ...(canned.knowledge_graph ? { knowledge_graph: canned.knowledge_graph } : {}),
        organic_results,
      },
    };
  });
}

// ---- MediaWiki Action API ----

export interface FakeWikipediaOptions {
  /** Title -> plain-text intro extract. */
  pages: Record<string, string>;
}

export function startFakeWikipedia(options: FakeWikipediaOptions): Promise<FakeServer> {
  const titles = Object.keys(options.pages);
  const pageId = (title: string): number => 1000 + titles.indexOf(title);
  const words = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

  return startFakeServer((params, path) => {
    if (path !== '/w/api.php') return { status: 404, body: { error: `no route ${path}` } };
    if (params.format !== 'json' || params.action !== 'query') {
      return { status: 200, body: { error: { code: 'badvalue', info: 'Unrecognized value for parameter "action".' } } };
    }
    if (params.list === 'search') {
      if (!params.srsearch) return { status: 200, body: { error: { code: 'missingparam', info: 'The "srsearch" parameter must be set.' } } };
      // Rank by query words found in title and extract (title hits count double); ties keep page order.
      const queryWords = words(params.srsearch);
      const ranked = titles
        .map((title) => {
          const titleWords = new Set(words(title));
          const textWords = new Set(words(options.pages[title]));
          const score = queryWords.reduce((s, w) => s + (titleWords.has(w) ? 2 : 0) + (textWords.has(w) ? 1 : 0), 0);
          return { title, score };
        })
        .filter((r) => r.score > 0)
        .sort((x, y) => y.score - x.score);
      const limit = Number(params.srlimit ?? 10);
      const search = ranked.slice(0, limit).map(({ title }) => ({
        ns: 0,
        title,
        pageid: pageId(title),
        size: options.pages[title].length,
        wordcount: words(options.pages[title]).length,
        snippet: `<span class="searchmatch">${title}</span> ${options.pages[title].slice(0, 80)}`,
        timestamp: '2024-01-01T00:00:00Z',
      }));
      return {
        status: 200,
        body: {
          batchcomplete: '',
          ...(ranked.length > limit ? { continue: { sroffset: limit, continue: '-||' } } : {}),
          query: { searchinfo: { totalhits: ranked.length }, search },
        },
      };
    }
    if (params.prop === 'extracts') {
      const asked = (params.titles ?? '').split('|').filter(Boolean);
      const pages: Record<string, unknown> = {};
      let missing = -1;
      for (const target of asked) {
        if (options.pages[target] !== undefined) {
          const id = pageId(target);
          // exintro+explaintext give the plain intro; without them MediaWiki sends HTML.
          const extract = params.explaintext === '1' ? options.pages[target] : `<p>${options.pages[target]}</p>`;
          pages[String(id)] = { pageid: id, ns: 0, title: target, extract };
        } else {
          pages[String(missing)] = { ns: 0, title: target, missing: '' };
          missing -= 1;
        }
      }
      return { status: 200, body: { batchcomplete: '', query: { pages } } };
    }
    return { status: 200, body: { batchcomplete: '' } };
  });
}
