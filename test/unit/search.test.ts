import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { buildLocalIndex, loadCorpusJsonl, tokenize, type CorpusDoc } from '../../lib/tools/local-index';
import { createLocalSearch } from '../../lib/tools/local-search';
import { parseRetryAfterMs } from '../../lib/models/http-common';
import { createSerpApiSearch, serpApiObservation } from '../../lib/tools/serpapi-search';
import { createWikipediaSearch, firstSentences } from '../../lib/tools/wikipedia-search';
import { startFakeSerpApi, startFakeWikipedia, type FakeServer } from '../../scripts/support/fake-search-servers';

import { DATA_DIR } from '../../scripts/support/paths';

/** Runs `fn`, expecting an ApplicationFailure, and returns it. */
async function failureOf(fn: () => Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
}

describe('local BM25 index', () => {
  const docs: CorpusDoc[] = [
    // First, so that only length normalisation (not corpus order) can put the short Super Bowl doc above it.
    { id: 'long', text: `Super Bowl trivia: ${'the halftime show and the commercials fill the evening. '.repeat(20)}` },
    { id: 'kick', title: 'Badr Hari', text: 'He is a Moroccan-Dutch kickboxer, a former K-1 heavyweight world champion.' },
    { id: 'super', text: 'Malcolm Smith was named the Most Valuable Player of Super Bowl XLVIII.' },
    { id: 'nevada', text: 'Catherine Cortez Masto served as the 32nd attorney general of Nevada from 2007 to 2015.' },
  ];

  it('tokenizes: lower-case, punctuation and stop words out, accents folded', () => {
    assert.deepEqual(tokenize("The Pokémon's U.S. release, in 1996!"), ['pokemon', 'u', 'release', '1996']);
  });

  it('ranks the relevant document first', () => {
    const index = buildLocalIndex(docs);
    assert.equal(index.search('Who was MVP of Super Bowl XLVIII?', 1)[0].id, 'super');
    assert.equal(index.search('K-1 heavyweight kickboxer', 1)[0].id, 'kick');
    // The title is searched too: "Badr" is only there.
    assert.equal(index.search('badr', 1)[0].id, 'kick');
    // Length normalisation: the short document with "super bowl" beats the long one.
    const superBowl = index.search('super bowl', 4).map((h) => h.id);
    assert.deepEqual(superBowl, ['super', 'long']);
  });

  it('breaks ties by corpus order, deterministically', () => {
    const same = [
      { id: 'first', text: 'Nevada attorney general' },
      { id: 'second', text: 'Nevada attorney general' },
    ];
    const hits = buildLocalIndex(same).search('nevada', 2);
    assert.deepEqual(hits.map((h) => h.id), ['first', 'second']);
    assert.equal(hits[0].score, hits[1].score);
    assert.equal(buildLocalIndex([...same].reverse()).search('nevada', 1)[0].id, 'second');
  });

  it('answers with the top text, top-k joined, or the no-results observation', async () => {
    const text = (id: string): string => docs.find((d) => d.id === id)?.text.trim() ?? '';
    const index = buildLocalIndex([...docs, { id: 'dup', text: text('super') }]);
    const one = await createLocalSearch({ index }).search({ query: 'Malcolm Smith MVP' });
    assert.deepEqual(one, { observation: text('super'), backend: 'local', cached: false });

    // Duplicates of a text are said once.
    const two = await createLocalSearch({ index, topK: 2 }).search({ query: 'Super Bowl Malcolm' });
    assert.equal(two.observation, `${text('super')} ${text('long')}`);

    const none = await createLocalSearch({ index }).search({ query: 'zebra quantum' });
    assert.equal(none.observation, 'No results found for "zebra quantum".');
    const stopWordsOnly = await createLocalSearch({ index }).search({ query: 'the of and' });
    assert.equal(stopWordsOnly.observation, 'No results found for "the of and".');
  });

  // Build speed belongs to a benchmark, not to a timed test on a shared machine: this proves scale and correctness.
  it('indexes 50k short documents and still finds the right one', () => {
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const vocab = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}`);
    const many = Array.from({ length: 50_000 }, (_, i) => ({
      id: String(i),
      text: Array.from({ length: 25 }, () => vocab[Math.floor(random() ** 2 * vocab.length)]).join(' '),
    }));
    many[31_337] = { id: 'needle', text: 'the unique needle zxqv hides in a haystack' };
    const index = buildLocalIndex(many);
    assert.equal(index.size, 50_000);
    assert.equal(index.search('zxqv needle', 1)[0].id, 'needle');
  });

  it('finds the recorded observations for the recorded FireAct queries', async () => {
    // The default offline corpus is the snippets the teacher saw; its own queries should mostly find them.
    const file = path.join(DATA_DIR, 'finetune/gpt_format/hotpotqa.jsonl');
    const pairs: Array<{ query: string; observation: string }> = [];
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      const messages = (JSON.parse(line) as { messages: Array<{ role: string; content: string }> }).messages;
      messages.forEach((m, i) => {
        const query = /Action: search\[(.*)\]\s*$/.exec(m.content)?.[1];
        const next = messages[i + 1];
        if (m.role === 'assistant' && query && next?.content.startsWith('Observation: ')) {
          pairs.push({ query, observation: next.content.slice('Observation: '.length) });
        }
      });
    }
    assert.ok(pairs.length > 400, `only ${pairs.length} recorded searches`);
    const texts = [...new Set(pairs.map((p) => p.observation))];
    const search = createLocalSearch({ index: buildLocalIndex(texts.map((text, i) => ({ id: String(i), text }))) });
    const malcolm = await search.search({ query: 'Malcolm Smith Most Valuable Player' });
    assert.match(malcolm.observation, /Super Bowl XLVIII/);
    let found = 0;
    for (const p of pairs) if ((await search.search({ query: p.query })).observation === p.observation) found++;
    assert.ok(found / pairs.length > 0.3, `only ${found} of ${pairs.length} recorded queries found their snippet`);
  });
});

describe('corpus loader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fireact-corpus-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads {title?, text} lines, skipping blank ones', async () => {
    const file = path.join(dir, 'ok.jsonl');
    await writeFile(file, '{"title":"Nevada","text":"A state."}\n\n{"text":"Just text."}\n');
    assert.deepEqual(await loadCorpusJsonl(file), [
      { id: '1', title: 'Nevada', text: 'A state.' },
      { id: '3', text: 'Just text.' },
    ]);
  });

  it('names the file and line of a bad record', async () => {
    const file = path.join(dir, 'bad.jsonl');
    await writeFile(file, '{"text":"fine"}\n{"text":"fine too"}\n{"text": oops}\n');
    const failure = await failureOf(() => loadCorpusJsonl(file));
    assert.equal(failure.type, 'BadDatasetRecord');
    assert.equal(failure.nonRetryable, true);
    assert.ok(failure.message.startsWith(`${file}:3: not valid JSON`), failure.message);

    await writeFile(file, '{"title":"no text"}\n');
    assert.match((await failureOf(() => loadCorpusJsonl(file))).message, /bad\.jsonl:1: "text" must be a non-empty string/);
  });

  it('reports a missing corpus as MissingData', async () => {
    const failure = await failureOf(() => loadCorpusJsonl(path.join(dir, 'nope.jsonl')));
    assert.equal(failure.type, 'MissingData');
    assert.match(failure.message, /nope\.jsonl/);
  });
});

describe('serpapi search', () => {
  // Characters that URL-encoding changes, so the key shows up in two spellings that must both be hidden.
  const apiKey = 'sk+test/SECRET=0123456789';
  let server: FakeServer;
  beforeAll(async () => {
    server = await startFakeSerpApi({
      apiKey,
      results: {
        'capital of france': {
          answer_box: { type: 'organic_result', answer: 'Paris', snippet: 'Paris is the capital of France.' },
          organic_results: [{ title: 'Paris', snippet: 'Paris is the capital and most populous city of France.' }],
        },
        'badr hari': {
          answer_box: { type: 'organic_result', snippet: 'Badr Hari is a Moroccan-Dutch\n kickboxer.' },
        },
        'super bowl xlviii mvp': { answer_box: { snippet_highlighted_words: ['Malcolm Smith', 'Seattle'] } },
        'cortez masto': {
          knowledge_graph: { title: 'Catherine Cortez Masto', description: 'Catherine Cortez Masto is an American politician.' },
          organic_results: [{ title: 'Wikipedia', snippet: 'not this one' }],
        },
        'obscure thing': {
          organic_results: [
            { title: 'no snippet here', link: 'https://example.org/a' },
            { title: 'second', snippet: 'The second result carries the snippet.' },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  const client = (overrides: { apiKey?: string; timeoutMs?: number } = {}) =>
    createSerpApiSearch({ baseUrl: server.url, apiKey: overrides.apiKey ?? apiKey, timeoutMs: overrides.timeoutMs ?? 2000 });

  it('prefers the answer box, and sends the query FireAct sent', async () => {
    const result = await client().search({ query: 'capital of france' });
    assert.deepEqual(result, { observation: 'Paris', backend: 'serpapi', cached: false });
    const sent = server.requests.at(-1);
    assert.equal(sent?.path, '/search.json');
    assert.equal(sent?.params.engine, 'google');
    assert.equal(sent?.params.q, 'capital of france');
    assert.equal(sent?.params.api_key, apiKey);
  });

  it('falls back through snippet, highlighted words, knowledge graph and organic results', async () => {
    const search = client();
    assert.equal((await search.search({ query: 'badr hari' })).observation, 'Badr Hari is a Moroccan-Dutch kickboxer.');
    assert.equal((await search.search({ query: 'super bowl xlviii mvp' })).observation, 'Malcolm Smith');
    assert.equal((await search.search({ query: 'cortez masto' })).observation, 'Catherine Cortez Masto is an American politician.');
    assert.equal((await search.search({ query: 'obscure thing' })).observation, 'The second result carries the snippet.');
    assert.equal(serpApiObservation({ answer_box: [{ answer: 'first box' }, { answer: 'second box' }] }), 'first box');
  });

  it('says so when Google found nothing', async () => {
    const result = await client().search({ query: 'qwzx nothing matches' });
    assert.equal(result.observation, 'No results found for "qwzx nothing matches".');
  });

  it('a rejected key is non-retryable and never shows the key', async () => {
    const wrongKey = 'sk-wrong-KEY-987654';
    const failure = await failureOf(() => client({ apiKey: wrongKey }).search({ query: 'capital of france' }));
    assert.equal(failure.type, 'ToolFailed');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /HTTP 401/);
    assert.ok(!failure.message.includes(wrongKey));

    // Even a server that echoes the key back in its error body does not leak it.
    server.failWith({ status: 403, body: JSON.stringify({ error: `key ${apiKey} is suspended; see ?api_key=${encodeURIComponent(apiKey)}` }), times: 1 });
    const echoed = await failureOf(() => client().search({ query: 'capital of france' }));
    assert.equal(echoed.nonRetryable, true);
    assert.match(echoed.message, /HTTP 403.*suspended/);
    assert.ok(!echoed.message.includes(apiKey) && !echoed.message.includes(encodeURIComponent(apiKey)), echoed.message);
  });

  it('server errors and rate limits are retryable', async () => {
    server.failWith({ status: 500, times: 1 });
    const failure = await failureOf(() => client().search({ query: 'capital of france' }));
    assert.equal(failure.type, 'ToolFailed');
    assert.equal(failure.nonRetryable, false);
    assert.match(failure.message, /HTTP 500/);
    assert.ok(!failure.message.includes(apiKey));

    server.failWith({ status: 429, headers: { 'retry-after': '7' }, times: 1 });
    const limited = await failureOf(() => client().search({ query: 'capital of france' }));
    assert.equal(limited.nonRetryable, false);
    assert.equal(limited.nextRetryDelay, 7000);
    assert.equal(parseRetryAfterMs(new Date(10_000).toUTCString(), 4_000), 6_000);

    // Service resumes once the failures are spent.
    assert.equal((await client().search({ query: 'capital of france' })).observation, 'Paris');
  });

  it('a slow server times out as a retryable failure', async () => {
    // The server would answer after 10 s: a failure naming the 100 ms deadline proves it fired.
    server.setDelay(10_000);
    try {
      const failure = await failureOf(() => client({ timeoutMs: 100 }).search({ query: 'capital of france' }));
      assert.equal(failure.type, 'ToolFailed');
      assert.equal(failure.nonRetryable, false);
      assert.match(failure.message, /timed out after 100 ms/);
      assert.ok(!failure.message.includes(apiKey));
    } finally {
      server.setDelay(0);
    }
  });

  it('a caller abort propagates as the abort, not as a tool failure', async () => {
    server.setDelay(1500);
    try {
      const controller = new AbortController();
      const reason = new Error('activity cancelled');
      setTimeout(() => controller.abort(reason), 50);
      await assert.rejects(client().search({ query: 'capital of france' }, controller.signal), (err) => err === reason);
    } finally {
      server.setDelay(0);
    }
  });

  it('an unreachable server is retryable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const search = createSerpApiSearch({ baseUrl: `http://127.0.0.1:${port}`, apiKey, timeoutMs: 2000 });
    const failure = await failureOf(() => search.search({ query: 'anything' }));
    assert.equal(failure.nonRetryable, false);
    assert.match(failure.message, /ECONNREFUSED/);
    assert.ok(!failure.message.includes(apiKey));
  });

  it('refuses to start without a key', () => {
    assert.throws(() => createSerpApiSearch({ apiKey: '', timeoutMs: 1000 }), (err) => err instanceof ApplicationFailure && err.type === 'MissingSecret');
  });
});

describe('wikipedia search', () => {
  const intro =
    'Catherine Marie Cortez Masto (born March 29, 1964) is an American lawyer and politician. ' +
    'She has served as the senior U.S. senator from Nevada since 2017.\n\nA member of the Democratic Party, she was the 32nd attorney general of Nevada. ' +
    'She is the first Latina elected to the Senate. Sentence five is here. Sentence six is cut.';
  let server: FakeServer;
  beforeAll(async () => {
    server = await startFakeWikipedia({
      pages: { 'Catherine Cortez Masto': intro, 'Badr Hari': 'Badr Hari is a Moroccan-Dutch kickboxer.' },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  const client = () => createWikipediaSearch({ baseUrl: server.url, timeoutMs: 2000 });

  it('returns the first five sentences of the top hit intro', async () => {
    const before = server.requests.length;
    const result = await client().search({ query: 'Cortez Masto attorney general' });
    assert.equal(
      result.observation,
      'Catherine Marie Cortez Masto (born March 29, 1964) is an American lawyer and politician. ' +
        'She has served as the senior U.S. senator from Nevada since 2017. A member of the Democratic Party, she was the 32nd attorney general of Nevada. ' +
        'She is the first Latina elected to the Senate. Sentence five is here.',
    );
    assert.equal(result.backend, 'wikipedia');
    const [search, extract] = server.requests.slice(before);
    assert.equal(server.requests.length - before, 2);
    assert.deepEqual(
      { list: search.params.list, srsearch: search.params.srsearch, srlimit: search.params.srlimit, format: search.params.format },
      { list: 'search', srsearch: 'Cortez Masto attorney general', srlimit: '1', format: 'json' },
    );
    assert.deepEqual(
      { prop: extract.params.prop, titles: extract.params.titles, exintro: extract.params.exintro, explaintext: extract.params.explaintext, redirects: extract.params.redirects },
      { prop: 'extracts', titles: 'Catherine Cortez Masto', exintro: '1', explaintext: '1', redirects: '1' },
    );
    assert.ok(search.headers['user-agent']?.startsWith('fireact/'));
  });

  it('says so when nothing matches, without asking for an extract', async () => {
    const before = server.requests.length;
    const result = await client().search({ query: 'zzqx' });
    assert.equal(result.observation, 'No results found for "zzqx".');
    assert.equal(server.requests.length - before, 1);
  });

  it('classifies HTTP failures like the other clients', async () => {
    server.failWith({ status: 503, times: 1 });
    const unavailable = await failureOf(() => client().search({ query: 'Badr Hari' }));
    assert.equal(unavailable.type, 'ToolFailed');
    assert.equal(unavailable.nonRetryable, false);
    server.failWith({ status: 403, times: 1 });
    assert.equal((await failureOf(() => client().search({ query: 'Badr Hari' }))).nonRetryable, true);
    assert.equal((await client().search({ query: 'Badr Hari' })).observation, 'Badr Hari is a Moroccan-Dutch kickboxer.');
  });

  it('cuts sentences without splitting initials and abbreviations', () => {
    assert.equal(firstSentences('J. R. R. Tolkien was born in 1892. He wrote books. Mr. Smith disagreed. Done.', 2), 'J. R. R. Tolkien was born in 1892. He wrote books.');
    assert.equal(firstSentences('Only one sentence', 5), 'Only one sentence');
  });
});
