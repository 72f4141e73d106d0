import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import type { MethodName, TaskName } from '../../core/config';
import { emptyUsage, TRAJECTORY_SCHEMA, type TrajectoryRecord, type Turn } from '../../core/trajectory';
import { parseCanonicalAction } from '../../lib/curate/action';
import { curateTrajectories, DROP_REASONS, type CurateOptions } from '../../lib/curate/curate';
import { candidateProbability, LshIndex, minhashSignature, MINHASH_SIZE, rowsPerBand } from '../../lib/curate/minhash';
import { normalizeQuestion } from '../../lib/curate/normalize';
import { SeededRandom } from '../../lib/tasks/sampling';
import { jaccard, shingleSet } from '../../lib/curate/shingles';

import { DATA_DIR as DATA } from '../../scripts/support/paths';

const OPTIONS: CurateOptions = {
  requireSuccess: true,
  maxTurns: 24,
  maxChars: 16_000,
  nearDuplicateThreshold: 0.9,
  excludeEvalQuestions: true,
  evalQuestions: new Set(),
};

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const rnd = new SeededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rnd.below(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function react(...steps: Array<[thought: string, action: string, observation: string]>): Turn[] {
  return steps.flatMap(([thought, action, observation]): Turn[] => [
    { role: 'assistant', content: `Thought: ${thought}\nAction: ${action}` },
    { role: 'observation', content: observation },
  ]);
}

function record(qid: string, overrides: Partial<TrajectoryRecord> & { task?: TaskName; text?: string } = {}): TrajectoryRecord {
  const { task = 'hotpotqa', text = `What is question number ${qid}?`, ...rest } = overrides;
  const method: MethodName = rest.method ?? 'react';
  return {
    schema: TRAJECTORY_SCHEMA,
    id: `${task}/${method}/${qid}`,
    experiment: 'test',
    question: { task, split: 'train', id: qid, text, answers: ['x'] },
    method,
    teacher: { name: 'teacher', provider: 'replay', model: 'gpt-4', replay: true },
    turns: react(
      [`I need to search for the subject of question ${qid} and its distinctive details`, `search[subject of question ${qid}]`, `Snippet about ${qid}.`],
      [`The snippet answers question ${qid} with its own particular answer`, `finish[answer ${qid}]`, 'Episode finished, reward = 1'],
    ),
    prediction: `answer ${qid}`,
    finished: true,
    reward: 1,
    metrics: {},
    steps: 2,
    trials: 1,
    malformed: 0,
    forcedFinish: false,
    usage: emptyUsage(),
    ...rest,
  };
}

/** A long, distinctive ReAct trajectory of random words, so unrelated records share almost no shingles. */
function wordyTurns(rnd: SeededRandom, vocab: readonly string[], words: number): Turn[] {
  const pick = (n: number) => Array.from({ length: n }, () => vocab[rnd.below(vocab.length)]).join(' ');
  const third = Math.floor(words / 3);
  return react([pick(third), `search[${pick(4)}]`, pick(20)], [pick(third), `search[${pick(4)}]`, pick(20)], [pick(third), `finish[${pick(2)}]`, 'Episode finished, reward = 1']);
}

/** Replaces one word in the middle of the first assistant turn's thought. */
function editOneWord(turns: Turn[]): Turn[] {
  const out = turns.map((t) => ({ ...t }));
  const words = out[0].content.split(' ');
  words[Math.floor(words.length / 2)] = 'EDITED';
  out[0].content = words.join(' ');
  return out;
}

void describe('helpers', () => {
  void test('normalizeQuestion: case, punctuation and whitespace do not matter', () => {
    assert.equal(normalizeQuestion('  Who  wrote\t"Hamlet"?\n'), 'who wrote hamlet');
    assert.equal(normalizeQuestion('Well-known ＡＢＣ, café!'), 'well known abc café');
    assert.equal(normalizeQuestion('Question: x?\nA. 1\nB. 2'), 'question x a 1 b 2');
    assert.notEqual(normalizeQuestion('Who wrote Hamlet?'), normalizeQuestion('Who wrote Macbeth?'));
  });

  void test('normalizeQuestion: the ASCII fast path gives what the Unicode rule gives, for every ASCII character', () => {
    const unicodeRule = (t: string) => t.normalize('NFKC').toLowerCase().replace(/[\p{P}\p{S}]+/gu, ' ').replace(/\s+/g, ' ').trim();
    for (let c = 0; c < 128; c++) {
      const text = `Ab${String.fromCharCode(c)}cD ${String.fromCharCode(c)}`;
      assert.equal(normalizeQuestion(text), unicodeRule(text), `character ${c}`);
    }
  });

  void test('parseCanonicalAction: the exact action form that ends the turn', () => {
    assert.deepEqual(parseCanonicalAction('Thought: x\nAction: search[Badr Hari]'), { verb: 'search', argument: 'Badr Hari' });
    assert.deepEqual(parseCanonicalAction('Thought: x\nAction: finish[yes]  \n'), { verb: 'finish', argument: 'yes' });
    assert.deepEqual(parseCanonicalAction('Thought: wrap up. Action: finish[No idea]\nAction: finish[No idea]'), { verb: 'finish', argument: 'No idea' });
    assert.deepEqual(parseCanonicalAction('Action: finish[a [nested] answer]'), { verb: 'finish', argument: 'a [nested] answer' });
    assert.equal(parseCanonicalAction('Thought: I should search more.'), null);
    assert.equal(parseCanonicalAction('Action: search[x]\nThought: and more text'), null);
    assert.equal(parseCanonicalAction('Action: lookup[x]'), null);
    assert.equal(parseCanonicalAction('Action: search[  ]'), null);
    assert.equal(parseCanonicalAction('Action: Finish[yes]'), null);
    assert.equal(parseCanonicalAction('Action: finish[yes] because'), null);
  });

  void test('shingles and exact Jaccard', () => {
    const a = shingleSet('one two three four five six');
    assert.equal(a.hashes.length, 2);
    assert.equal(jaccard(a.hashes, a.hashes), 1);
    assert.equal(jaccard(a.hashes, shingleSet('ONE two, three four five... six').hashes), 1);
    assert.equal(jaccard(a.hashes, shingleSet('one two three four five seven').hashes), 1 / 3);
    assert.equal(shingleSet('short text').hashes.length, 1);
    assert.equal(jaccard(shingleSet('').hashes, shingleSet('').hashes), 0);
  });

  void test('banding makes pairs at the threshold candidates almost surely', () => {
    assert.equal(rowsPerBand(0.9), 4);
    assert.ok(candidateProbability(0.9, rowsPerBand(0.9)) > 0.9999);
    for (const t of [0.5, 0.7, 0.8, 0.95, 1]) assert.ok(candidateProbability(t, rowsPerBand(t)) >= 0.999, `threshold ${t}`);
    assert.ok(candidateProbability(0.2, 4) < 0.03, 'dissimilar pairs are rarely candidates');
  });

  void test('MinHash estimates track exact Jaccard', () => {
    const rnd = new SeededRandom(1);
    const vocab = Array.from({ length: 3000 }, (_, i) => `w${i}`);
    const base = Array.from({ length: 300 }, () => vocab[rnd.below(vocab.length)]);
    for (const edits of [5, 20, 60]) {
      const other = [...base];
      for (let e = 0; e < edits; e++) other[rnd.below(other.length)] = vocab[rnd.below(vocab.length)];
      const x = shingleSet(base.join(' '));
      const y = shingleSet(other.join(' '));
      const sx = minhashSignature(x.low);
      const sy = minhashSignature(y.low);
      const estimate = sx.filter((v, i) => v === sy[i]).length / MINHASH_SIZE;
      const exact = jaccard(x.hashes, y.hashes);
      assert.ok(Math.abs(estimate - exact) < 0.2, `edits ${edits}: estimate ${estimate} vs exact ${exact}`);
    }
    const index = new LshIndex(4);
    index.add(0, minhashSignature(shingleSet(base.join(' ')).low));
    assert.deepEqual(index.candidates(minhashSignature(shingleSet(base.join(' ')).low)), [0]);
    assert.deepEqual(index.candidates(minhashSignature(shingleSet('entirely different words in this text here').low)), []);
  });
});

void describe('curateTrajectories', () => {
  void test('a clean record is kept and every count starts at zero', () => {
    const r = curateTrajectories([record('1')], OPTIONS);
    assert.deepEqual(r.kept.map((k) => k.id), ['hotpotqa/react/1']);
    assert.deepEqual(r.dropped, []);
    assert.deepEqual(Object.keys(r.counts), [...DROP_REASONS]);
    assert.ok(Object.values(r.counts).every((n) => n === 0));
  });

  void test('every drop reason, with its detail', () => {
    const base = record('0');
    const long = Array.from({ length: 13 }, (_, i): [string, string, string] => [`step ${i} of a very long search`, `search[q${i}]`, `obs ${i}`]);
    const records = [
      record('a-reward0', { reward: 0 }),
      record('a-nogold', { reward: null }),
      record('b-unfinished', { finished: false }),
      record('c-forced', { forcedFinish: true }),
      record('c-order', { turns: [{ role: 'observation', content: 'x' }, ...base.turns] }),
      record('c-twoassist', { turns: [base.turns[0], base.turns[0], ...base.turns.slice(1)] }),
      record('c-noaction', { turns: [{ role: 'assistant', content: 'Thought: I wonder.' }, ...base.turns.slice(1)] }),
      record('c-empty', { turns: [base.turns[0], { role: 'observation', content: '  ' }, ...base.turns.slice(2)] }),
      record('c-noturns', { turns: [] }),
      record('d-turns', { turns: react(...long) }),
      record('d-chars', { text: `Which ${'very '.repeat(4000)}long question?` }),
      record('e-leak', { text: 'Who  wrote "Hamlet"?' }),
      record('f-orig', { text: 'Same question?', turns: base.turns }),
      record('f-twin', { text: ' Same question? ', turns: base.turns }),
      record('f-othermethod', { text: 'Same question?', turns: base.turns, method: 'reflexion' }),
    ];
    const rnd = new SeededRandom(7);
    const vocab = Array.from({ length: 5000 }, (_, i) => `v${i}`);
    const original = wordyTurns(rnd, vocab, 150);
    records.push(record('g1-orig', { turns: original }), record('g2-copy', { turns: editOneWord(original) }));

    const result = curateTrajectories(records, { ...OPTIONS, evalQuestions: new Set([normalizeQuestion('who wrote hamlet')]) });
    const byId = Object.fromEntries(result.dropped.map((d) => [d.id.split('/')[2], d]));
    assert.deepEqual(byId['a-reward0'], { id: 'hotpotqa/react/a-reward0', reason: 'unsuccessful', detail: 'reward 0' });
    assert.equal(byId['a-nogold'].detail, 'no gold answer');
    assert.deepEqual(byId['b-unfinished'], { id: 'hotpotqa/react/b-unfinished', reason: 'unfinished' });
    assert.equal(byId['c-forced'].detail, 'forced finish');
    assert.equal(byId['c-order'].detail, 'turn 0: observation where assistant was expected');
    assert.equal(byId['c-twoassist'].detail, 'turn 1: assistant where observation was expected');
    assert.equal(byId['c-noaction'].detail, 'turn 0: no parsable Action: search[...] or finish[...]');
    assert.equal(byId['c-empty'].detail, 'turn 1: empty observation content');
    assert.equal(byId['c-noturns'].detail, 'no turns');
    assert.equal(byId['d-turns'].detail, '26 turns > 24');
    assert.match(byId['d-chars'].detail ?? '', /^\d+ characters > 16000$/);
    assert.deepEqual(byId['e-leak'], { id: 'hotpotqa/react/e-leak', reason: 'eval-leak' });
    assert.deepEqual(byId['f-twin'], { id: 'hotpotqa/react/f-twin', reason: 'exact-duplicate', detail: 'same as hotpotqa/react/f-orig' });
    assert.equal(byId['g2-copy'].reason, 'near-duplicate');
    assert.match(byId['g2-copy'].detail ?? '', /^jaccard 0\.9\d\d with hotpotqa\/react\/g1-orig$/);

    assert.deepEqual(
      result.kept.map((k) => k.id),
      ['hotpotqa/react/f-orig', 'hotpotqa/react/g1-orig', 'hotpotqa/reflexion/f-othermethod'],
    );
    assert.deepEqual(result.counts, {
      unsuccessful: 2,
      unfinished: 1,
      malformed: 6,
      'too-long': 2,
      'eval-leak': 1,
      'exact-duplicate': 1,
      'near-duplicate': 1,
    });
    assert.equal(result.kept.length + result.dropped.length, records.length);
    assert.deepEqual(result.dropped.map((d) => d.id), result.dropped.map((d) => d.id).sort());
  });

  void test('a record gets the first reason that applies; options switch checks off', () => {
    const bad = record('1', { reward: 0, finished: false, forcedFinish: true, text: 'Who wrote Hamlet?' });
    const evalQuestions = new Set([normalizeQuestion('Who wrote Hamlet?')]);
    assert.equal(curateTrajectories([bad], { ...OPTIONS, evalQuestions }).dropped[0].reason, 'unsuccessful');
    assert.equal(curateTrajectories([bad], { ...OPTIONS, evalQuestions, requireSuccess: false }).dropped[0].reason, 'unfinished');
    const leak = record('2', { reward: null, text: 'Who wrote Hamlet?' });
    assert.equal(curateTrajectories([leak], { ...OPTIONS, evalQuestions, requireSuccess: false }).dropped[0].reason, 'eval-leak');
    assert.equal(curateTrajectories([leak], { ...OPTIONS, evalQuestions, requireSuccess: false, excludeEvalQuestions: false }).kept.length, 1);
    assert.equal(curateTrajectories([record('3')], { ...OPTIONS, maxTurns: 3 }).dropped[0].reason, 'too-long');
  });

  void test('near-duplicates: edited copies go, distinct trajectories and other groups stay', () => {
    const rnd = new SeededRandom(11);
    const vocab = Array.from({ length: 5000 }, (_, i) => `v${i}`);
    const originals = Array.from({ length: 50 }, () => wordyTurns(rnd, vocab, 150));
    const records = originals.flatMap((turns, i) => [
      record(`o${String(i).padStart(2, '0')}`, { turns }),
      record(`p${String(i).padStart(2, '0')}`, { turns: editOneWord(turns) }), // same task + method: near-dup
      record(`q${String(i).padStart(2, '0')}`, { turns: editOneWord(turns), task: 'strategyqa' }), // other task
      record(`r${String(i).padStart(2, '0')}`, { turns: editOneWord(turns), method: 'reflexion' }), // other method
    ]);
    const result = curateTrajectories(records, OPTIONS);
    assert.equal(result.counts['near-duplicate'], 50);
    assert.ok(result.dropped.every((d) => d.id.startsWith('hotpotqa/react/p') && d.reason === 'near-duplicate'));
    assert.equal(result.kept.length, 150);

    // A lower threshold still keeps trajectories that only share a little text.
    // Two of three thoughts shared: Jaccard about 0.5.
    const halfSame = originals.map((turns, i) => record(`h${i}`, { turns: [...turns.slice(0, 4), ...wordyTurns(rnd, vocab, 150).slice(4)] }));
    const loose = curateTrajectories([...originals.map((turns, i) => record(`o${i}`, { turns })), ...halfSame], { ...OPTIONS, nearDuplicateThreshold: 0.9 });
    assert.equal(loose.counts['near-duplicate'], 0);
    const strict = curateTrajectories([...originals.map((turns, i) => record(`o${i}`, { turns })), ...halfSame], { ...OPTIONS, nearDuplicateThreshold: 0.3 });
    assert.equal(strict.counts['near-duplicate'], 50);
  });

  void test('deterministic: shuffled input gives the same result', () => {
    const rnd = new SeededRandom(3);
    const vocab = Array.from({ length: 2000 }, (_, i) => `v${i}`);
    const records: TrajectoryRecord[] = [];
    for (let i = 0; i < 300; i++) {
      const turns = wordyTurns(rnd, vocab, 90);
      const id = String(i).padStart(3, '0');
      records.push(record(`${id}`, { turns, reward: i % 17 === 0 ? 0 : 1 }));
      if (i % 5 === 0) records.push(record(`${id}-copy`, { turns: editOneWord(turns) }));
      if (i % 7 === 0) records.push(record(`${id}-twin`, { turns, text: `What is question number ${id}?` }));
    }
    const first = curateTrajectories(records, OPTIONS);
    assert.ok(first.counts['near-duplicate'] > 0 && first.counts['exact-duplicate'] > 0 && first.counts.unsuccessful > 0);
    for (const seed of [1, 2, 3]) assert.deepEqual(curateTrajectories(shuffle(records, seed), OPTIONS), first);
  });

  void test('the released multitask_multimethod trajectories: the broken ones are dropped', () => {
    const lines = readFileSync(path.join(DATA, 'finetune/gpt_format/multitask_multimethod.jsonl'), 'utf8').trim().split('\n');
    const records = lines.map((line, i) => {
      const messages = (JSON.parse(line) as { messages: Array<{ role: string; content: string }> }).messages;
      const last = messages[messages.length - 1].content;
      const turns: Turn[] = messages.slice(1).map((m) =>
        m.role === 'assistant' ? { role: 'assistant', content: m.content } : { role: 'observation', content: m.content.replace(/^Observation: /, '') },
      );
      return record(String(i).padStart(4, '0'), {
        task: messages[0].content.includes('\nA. ') ? 'mmlu' : 'hotpotqa',
        text: messages[0].content,
        turns,
        reward: /reward = (1|True)$/.test(last) ? 1 : 0,
      });
    });
    const result = curateTrajectories(records, OPTIONS);
    const dropped = new Map(result.dropped.map((d) => [d.id.split('/')[2], d]));
    // Lines known to break the format: assistant turns in a row, or no question first.
    for (const i of [239, 993, 1490, 1587, 1830, 1859, 2046]) {
      const d = dropped.get(String(i).padStart(4, '0'));
      assert.ok(d && (d.reason === 'malformed' || d.reason === 'unsuccessful'), `line ${i}: ${JSON.stringify(d)}`);
    }
    assert.ok(result.kept.length > 1900, `kept ${result.kept.length}`);
    console.log('released multitask_multimethod:', result.kept.length, 'kept of', records.length, result.counts);
  });

  void test('performance: 20,000 records', () => {
    const rnd = new SeededRandom(42);
    const vocab = Array.from({ length: 20000 }, (_, i) => `w${i.toString(36)}`);
    const records: TrajectoryRecord[] = [];
    let planted = 0;
    for (let i = 0; records.length < 20_000; i++) {
      const turns = wordyTurns(rnd, vocab, 150);
      const task: TaskName = (['hotpotqa', 'strategyqa', 'mmlu'] as const)[i % 3];
      records.push(record(`n${i}`, { turns, task }));
      if (i % 10 === 0) {
        records.push(record(`n${i}-copy`, { turns: editOneWord(turns), task }));
        planted++;
      }
    }
    const result = curateTrajectories(records, OPTIONS);
    assert.equal(result.counts['near-duplicate'], planted);
    assert.equal(result.kept.length, records.length - planted);
  });
});
