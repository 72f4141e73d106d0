import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { TaskName } from '../../core/config';
import type { Question } from '../../core/trajectory';
import { CsvSyntaxError, parseCsv } from '../../lib/tasks/csv';
import { clearSplitMemo, getTask, loadSplit, registerSplitLoader, splitsOf, TASKS } from '../../lib/tasks/registry';

import { DATA_DIR as DATA } from '../../scripts/support/paths';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'fireact-tasks-'));
}

function failureOf(err: unknown): ApplicationFailure {
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

async function rejectsWith(p: Promise<unknown>, type: string, ...mentions: string[]): Promise<ApplicationFailure> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  const f = failureOf(caught);
  assert.equal(f.type, type);
  assert.equal(f.nonRetryable, true);
  for (const m of mentions) assert.ok(f.message.includes(m), `"${f.message}" should mention "${m}"`);
  return f;
}

// ---- CSV -------------------------------------------------------------------------------------

void test('CSV: quoted fields, escaped quotes, embedded commas and newlines', () => {
  const text = 'q,a\r\n"x, y","say ""hi"""\r\n"line1\nline2\r\nline3",plain\n';
  assert.deepEqual(parseCsv(text), [
    ['q', 'a'],
    ['x, y', 'say "hi"'],
    ['line1\nline2\r\nline3', 'plain'],
  ]);
});

void test('CSV: empty fields, quoted empties, blank lines, BOM, no final newline, bare CR', () => {
  assert.deepEqual(parseCsv('\ufeffa,,b\n\n"",x\r\n,\r\rlast,"q"'), [
    ['a', '', 'b'],
    ['', 'x'],
    ['', ''],
    ['last', 'q'],
  ]);
  assert.deepEqual(parseCsv(''), []);
  assert.deepEqual(parseCsv('\n\r\n'), []);
  assert.deepEqual(parseCsv('"a""b"'), [['a"b']]);
  assert.deepEqual(parseCsv('" spaced ", kept '), [[' spaced ', ' kept ']]);
});

void test('CSV: stray quotes are read as Python reads them', () => {
  assert.deepEqual(parseCsv('the "Quit India" speech,x\n'), [['the "Quit India" speech', 'x']]);
  assert.deepEqual(parseCsv('"ab"c,d'), [['abc', 'd']]);
});

void test('CSV: an unterminated quote fails, naming the line it opened on', () => {
  assert.throws(
    () => parseCsv('a,b\nc,"never\nclosed'),
    (err: unknown) => err instanceof CsvSyntaxError && err.line === 2 && /unterminated/.test(err.message),
  );
});

void test('CSV: every data file parses exactly as Python csv reads it', () => {
  const files = ['bamboogle/test.csv'];
  for (const split of ['dev', 'val', 'test', 'train']) {
    for (const name of readdirSync(path.join(DATA, 'mmlu', split)).sort()) {
      if (name.endsWith('.csv')) files.push(`mmlu/${split}/${name}`);
    }
  }
  const script = [
    'import csv, json, sys',
    'out = {}',
    'for f in sys.argv[2:]:',
    "    with open(sys.argv[1] + '/' + f, newline='', encoding='utf-8') as h:",
    '        out[f] = [r for r in csv.reader(h) if r]',
    'print(json.dumps(out))',
  ].join('\n');
  const python = JSON.parse(
    execFileSync('python3', ['-c', script, DATA, ...files], { maxBuffer: 1 << 28, encoding: 'utf8' }),
  ) as Record<string, string[][]>;
  assert.ok(files.length > 170);
  for (const f of files) assert.deepEqual(parseCsv(readFileSync(path.join(DATA, f), 'utf8')), python[f], f);
});

// ---- every split of every task -------------------------------------------------------------

// Splits whose files are not bundled with the FireAct data (tested below with small files of their shape).
const NOT_BUNDLED: Partial<Record<TaskName, string[]>> = { hotpotqa: ['train'], strategyqa: ['train'] };

const EXPECTED_ROWS: Record<TaskName, Record<string, number>> = {
  hotpotqa: { dev: 7405, test: 7405 },
  strategyqa: { dev: 229, test: 490, 'train-filtered': 2821 },
  bamboogle: { test: 125 },
  // train: the auxiliary sets (ARC, OBQA, MCTest, RACE, law), counted with Python's csv module.
  mmlu: { dev: 285, val: 1531, test: 14042, train: 12126 },
};

void test('every split of every task loads with the documented row counts', async () => {
  clearSplitMemo();
  assert.deepEqual(Object.keys(TASKS).sort(), Object.keys(EXPECTED_ROWS).sort());
  for (const [name, task] of Object.entries(TASKS)) {
    const bundled = task.splits.filter((s) => !NOT_BUNDLED[task.name]?.includes(s));
    assert.deepEqual([...bundled].sort(), Object.keys(EXPECTED_ROWS[name as TaskName]).sort(), name);
    for (const split of bundled) {
      const qs = await loadSplit(DATA, task.name, split);
      assert.equal(qs.length, EXPECTED_ROWS[task.name][split], `${name}/${split}`);
      assert.equal(new Set(qs.map((q) => q.id)).size, qs.length, `${name}/${split} ids are unique`);
      const hasAnswers = split !== 'test' || name === 'bamboogle' || name === 'mmlu';
      for (const q of qs) {
        assert.equal(q.task, name);
        assert.equal(q.split, split);
        assert.ok(q.text.length > 0);
        assert.equal(q.answers.length > 0, hasAnswers, `${name}/${split}/${q.id} answers`);
      }
    }
  }
});

void test('each task declares its eval split, metrics and search use', () => {
  assert.deepEqual(
    Object.values(TASKS).map((t) => [t.name, [...t.evalSplits], t.usesSearch]),
    [
      ['hotpotqa', ['dev'], true],
      ['strategyqa', ['dev'], true],
      ['bamboogle', ['test'], true],
      ['mmlu', ['test'], true],
    ],
  );
  for (const t of Object.values(TASKS)) for (const s of t.evalSplits) assert.ok(t.splits.includes(s));
  assert.deepEqual(Object.keys(TASKS.hotpotqa.score('x', ['x'], 'lenient').metrics).sort(), ['em', 'f1']);
  assert.deepEqual(Object.keys(TASKS.bamboogle.score('x', ['x'], 'lenient').metrics).sort(), ['em', 'f1']);
  assert.deepEqual(Object.keys(TASKS.strategyqa.score('yes', ['yes'], 'lenient').metrics), ['accuracy']);
  assert.deepEqual(Object.keys(TASKS.mmlu.score('A', ['A'], 'lenient').metrics), ['accuracy']);
});

void test('HotpotQA rows keep the raw question, the answer and the type', async () => {
  const dev = await loadSplit(DATA, 'hotpotqa', 'dev');
  assert.deepEqual(dev[0], {
    task: 'hotpotqa',
    split: 'dev',
    id: '0',
    text: 'Were Scott Derrickson and Ed Wood of the same nationality?',
    answers: ['yes'],
    meta: { type: 'comparison' },
  });
  assert.equal(dev[1].id, '1');
  assert.deepEqual(dev[1].answers, ['Chief of Protocol']);
  assert.deepEqual(new Set(dev.map((q) => q.meta?.type)), new Set(['bridge', 'comparison']));
  const raw = JSON.parse(readFileSync(path.join(DATA, 'hotpotqa/dev.json'), 'utf8')) as { question: string }[];
  assert.ok(dev.every((q, i) => q.text === raw[i].question), 'text is the raw, untrimmed question');
  const testSplit = await loadSplit(DATA, 'hotpotqa', 'test');
  assert.equal(testSplit[0].text, "What position on the Billboard Top 100 did Alison Moyet's late summer hit achieve?");
  assert.deepEqual(testSplit[0].answers, []);
});

void test('StrategyQA gold is yes/no from the boolean; qid kept', async () => {
  const dev = await loadSplit(DATA, 'strategyqa', 'dev');
  assert.deepEqual(new Set(dev.flatMap((q) => q.answers)), new Set(['yes', 'no']));
  const raw = JSON.parse(readFileSync(path.join(DATA, 'strategyqa/strategyqa_dev.json'), 'utf8')) as {
    qid: string;
    question: string;
    answer: boolean;
  }[];
  dev.forEach((q, i) => {
    assert.equal(q.id, String(i));
    assert.equal(q.text, raw[i].question);
    assert.deepEqual(q.answers, [raw[i].answer ? 'yes' : 'no']);
    assert.equal(q.meta?.qid, raw[i].qid);
  });
  const train = await loadSplit(DATA, 'strategyqa', 'train-filtered');
  assert.deepEqual(train[0].answers, ['yes']);
  assert.equal(train[0].text, 'Did the Hopi Indians use a symbol that was similar to the swastika?');
});

void test('Bamboogle reads quoted answers and literal quotes', async () => {
  const qs = await loadSplit(DATA, 'bamboogle', 'test');
  assert.deepEqual(qs[0], {
    task: 'bamboogle',
    split: 'test',
    id: '0',
    text: 'Who was president of the United States in the year that Citibank was founded?',
    answers: ['james madison'],
  });
  assert.deepEqual(qs[5].answers, ['April 30, 1789']);
  assert.equal(qs[97].text, 'When was the person who delivered the "Quit India" speech born?');
  assert.equal(qs[101].text, 'When did the person who said "Cogito, ergo sum." die?');
  assert.deepEqual(qs[101].answers, ['February 11, 1650']);
  // A quoted answer with a newline inside stays raw; scoring normalises it away.
  assert.deepEqual(qs[74].answers, ['George VI\n']);
  assert.equal(TASKS.bamboogle.score('George VI', qs[74].answers, 'lenient').score, 1);
});

void test('MMLU questions read as the FireAct files show them', async () => {
  const dev = await loadSplit(DATA, 'mmlu', 'dev');
  const first = dev.find((q) => q.id === 'anatomy/0');
  assert.deepEqual(first, {
    task: 'mmlu',
    split: 'dev',
    id: 'anatomy/0',
    text:
      'Question: What is the embryological origin of the hyoid bone?\n' +
      'A. The first pharyngeal arch\nB. The first and second pharyngeal arches\n' +
      'C. The second pharyngeal arch\nD. The second and third pharyngeal arches',
    answers: ['D', 'The second and third pharyngeal arches'],
    meta: { subject: 'anatomy' },
  });
  assert.equal(new Set(dev.map((q) => q.meta?.subject)).size, 57);
  assert.equal(dev[0].id, 'abstract_algebra/0');
  const train = await loadSplit(DATA, 'mmlu', 'train');
  assert.deepEqual(new Set(train.map((q) => q.meta?.subject)), new Set(['arc_easy', 'arc_hard', 'aux_law_90s', 'mc_test', 'obqa', 'science_elementary', 'science_middle']));
  // The MMLU-style questions of the multitask fine-tuning file come from mmlu/train; their text must match ours.
  const texts = new Set(train.map((q) => q.text));
  const finetune = readFileSync(path.join(DATA, 'finetune/gpt_format/multitask.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { messages: { role: string; content: string }[] }).messages.find((m) => m.role === 'user')!.content)
    .filter((u) => u.startsWith('Question: ') && u.includes('\nD. '));
  const found = finetune.filter((u) => texts.has(u)).length;
  assert.ok(finetune.length > 400 && found / finetune.length > 0.95, `${found} of ${finetune.length} fine-tuning questions found`);
});

// ---- training splits not bundled with the FireAct data ------------------------------------------

void test('HotpotQA train and StrategyQA train: a missing file names itself, its shape, its source and where it goes', async () => {
  const dir = await tempDir();
  try {
    clearSplitMemo();
    const hotpot = path.join(dir, 'hotpotqa', 'hotpot_train_v1.1.json');
    await rejectsWith(loadSplit(dir, 'hotpotqa', 'train'), 'MissingData', `put it at ${hotpot}`, 'hotpot_train_v1.1.json', 'https://hotpotqa.github.io', '"_id", "question", "answer", "type"');
    const sqa = path.join(dir, 'strategyqa', 'strategyqa_train.json');
    await rejectsWith(loadSplit(dir, 'strategyqa', 'train'), 'MissingData', `put it at ${sqa}`, 'not its strategyqa_train_filtered.json', 'https://allenai.org/data/strategyqa', '"answer": true|false');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

void test('HotpotQA train and StrategyQA train load from files of the official shapes', async () => {
  const dir = await tempDir();
  try {
    clearSplitMemo();
    await fs.mkdir(path.join(dir, 'hotpotqa'));
    await fs.mkdir(path.join(dir, 'strategyqa'));
    // Official HotpotQA rows carry context paragraphs; enough of them that the file spans several read chunks,
    // with braces, brackets, quotes, escapes and multi-byte characters inside strings.
    const context = Array.from({ length: 40 }, (_, k) => [`Title ${k} {x}`, [`Sentence "${k}" with ] and [ and \\ and é€😀.`, 'Another } one.']]);
    const hotRows = Array.from({ length: 80 }, (_, i) => ({
      _id: `5a${i.toString(16).padStart(6, '0')}`,
      answer: i % 3 === 0 ? 'yes' : `Answer ${i} "quoted"`,
      question: `Question ${i}: which {one} is [first]?`,
      supporting_facts: [[`Title ${i}`, 0]],
      context,
      type: i % 2 ? 'bridge' : 'comparison',
      level: 'medium',
    }));
    await fs.writeFile(path.join(dir, 'hotpotqa', 'hotpot_train_v1.1.json'), JSON.stringify(hotRows));
    const stat = await fs.stat(path.join(dir, 'hotpotqa', 'hotpot_train_v1.1.json'));
    assert.ok(stat.size > 3 * 65536, `the file spans several 64 KiB chunks (${stat.size} bytes)`);
    const hot = await loadSplit(dir, 'hotpotqa', 'train');
    assert.equal(hot.length, 80);
    hot.forEach((q, i) => {
      assert.deepEqual(q, { task: 'hotpotqa', split: 'train', id: String(i), text: hotRows[i].question, answers: [hotRows[i].answer], meta: { type: hotRows[i].type } });
    });

    const sqaRows = [
      { qid: 'a1', term: 'Hopi', description: 'd', question: 'Did the Hopi use a swastika-like symbol?', answer: true, facts: ['f'], decomposition: ['q1'], evidence: [[[['p']]]] },
      { qid: 'b2', term: 'Moon', description: 'd', question: 'Is the Moon made of cheese?', answer: false, facts: [], decomposition: [], evidence: [] },
    ];
    await fs.writeFile(path.join(dir, 'strategyqa', 'strategyqa_train.json'), JSON.stringify(sqaRows, null, 2));
    const sqa = await loadSplit(dir, 'strategyqa', 'train');
    assert.deepEqual(
      sqa.map((q) => [q.id, q.text, q.answers, q.meta?.qid]),
      [
        ['0', sqaRows[0].question, ['yes'], 'a1'],
        ['1', sqaRows[1].question, ['no'], 'b2'],
      ],
    );
  } finally {
    clearSplitMemo();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

void test('the streamed HotpotQA train reader refuses what is not an array of objects', async () => {
  const dir = await tempDir();
  try {
    await fs.mkdir(path.join(dir, 'hotpotqa'));
    const file = path.join(dir, 'hotpotqa', 'hotpot_train_v1.1.json');
    const cases: Array<[string, string]> = [
      ['{"question": "q"}', 'expected a JSON array'],
      ['[{"question": "q", "answer": "a", "type": "bridge"}, 7]', 'row 1 is not an object'],
      ['[{"question": "q", "answer": "a", "type": "bridge"}', 'the array is not closed'],
      ['[{"question": "q", "answer": "a", "type": "bridge"}] x', 'text after the closing bracket'],
      ['[{"question": "q", "answer": "a", "type": "bridge"}, {"question": 3}]', 'row 1: field "question" is not a string'],
      ['[{"question": "q", "answer": "a" "type": "bridge"}]', 'row 0: not valid JSON'],
    ];
    for (const [text, problem] of cases) {
      clearSplitMemo();
      await fs.writeFile(file, text);
      await rejectsWith(loadSplit(dir, 'hotpotqa', 'train'), 'BadDatasetRecord', file, problem);
    }
  } finally {
    clearSplitMemo();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

// ---- failures --------------------------------------------------------------------------------

void test('a missing data file is MissingData naming the file and the data directory', async () => {
  const dir = await tempDir();
  try {
    await rejectsWith(loadSplit(dir, 'hotpotqa', 'dev'), 'MissingData', path.join(dir, 'hotpotqa', 'dev.json'), `dataDir is ${dir}`);
    await rejectsWith(loadSplit(dir, 'strategyqa', 'train-filtered'), 'MissingData', path.join(dir, 'strategyqa', 'strategyqa_train_filtered.json'));
    await rejectsWith(loadSplit(dir, 'bamboogle', 'test'), 'MissingData', path.join(dir, 'bamboogle', 'test.csv'));
    await rejectsWith(loadSplit(dir, 'mmlu', 'val'), 'MissingData', path.join(dir, 'mmlu', 'val'), dir);
    await fs.mkdir(path.join(dir, 'mmlu', 'val'), { recursive: true });
    await fs.writeFile(path.join(dir, 'mmlu', 'val', 'notes.txt'), 'x');
    await rejectsWith(loadSplit(dir, 'mmlu', 'val'), 'MissingData', path.join(dir, 'mmlu', 'val'), 'no matching');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

void test('an unknown split is MissingData naming the split and the allowed ones', async () => {
  await rejectsWith(loadSplit(DATA, 'hotpotqa', 'validation'), 'MissingData', '"validation"', 'dev, test, train');
  await rejectsWith(loadSplit(DATA, 'mmlu', 'auxiliary'), 'MissingData', '"auxiliary"', 'dev, val, test, train');
  await rejectsWith(TASKS.bamboogle.load(DATA, 'dev'), 'MissingData', '"dev"', 'test');
});

void test('an unknown task is InvalidConfig naming the known ones', () => {
  assert.throws(() => getTask('nq'), (err: unknown) => failureOf(err).type === 'InvalidConfig' && /hotpotqa, strategyqa, bamboogle, mmlu/.test(failureOf(err).message));
  assert.equal(getTask('mmlu'), TASKS.mmlu);
});

void test('malformed data is BadDatasetRecord naming the file and row', async () => {
  const dir = await tempDir();
  try {
    await fs.mkdir(path.join(dir, 'hotpotqa'));
    await fs.writeFile(path.join(dir, 'hotpotqa', 'dev.json'), '{"question": "not an array"}');
    await rejectsWith(loadSplit(dir, 'hotpotqa', 'dev'), 'BadDatasetRecord', path.join(dir, 'hotpotqa', 'dev.json'), 'array');
    await fs.writeFile(path.join(dir, 'hotpotqa', 'test.json'), '[{"question": "ok"}, {"question": 7}]');
    await rejectsWith(loadSplit(dir, 'hotpotqa', 'test'), 'BadDatasetRecord', 'row 1', '"question"');
    await fs.mkdir(path.join(dir, 'mmlu', 'dev'), { recursive: true });
    await fs.writeFile(path.join(dir, 'mmlu', 'dev', 'x_dev.csv'), 'q,a,b,c,d,A\nq,a,b,c,d,E\n');
    await rejectsWith(loadSplit(dir, 'mmlu', 'dev'), 'BadDatasetRecord', 'x_dev.csv', 'row 1', '"E"');
    await fs.mkdir(path.join(dir, 'bamboogle'));
    await fs.writeFile(path.join(dir, 'bamboogle', 'test.csv'), 'Q,A\nx,y\n');
    await rejectsWith(loadSplit(dir, 'bamboogle', 'test'), 'BadDatasetRecord', 'Question,Answer');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

// ---- memo and derived splits -----------------------------------------------------------------

void test('a split is read once per process, keyed by absolute path', async () => {
  const dir = await tempDir();
  try {
    clearSplitMemo();
    await fs.mkdir(path.join(dir, 'hotpotqa'));
    const file = path.join(dir, 'hotpotqa', 'dev.json');
    await fs.writeFile(file, JSON.stringify([{ question: ' Q? ', answer: 'A', type: 'bridge' }]));
    const first = await loadSplit(dir, 'hotpotqa', 'dev');
    assert.equal(first[0].text, ' Q? ');
    await fs.rm(file);
    // Same directory spelled relatively: still served from memory, though the file is gone.
    const again = await loadSplit(path.relative(process.cwd(), dir), 'hotpotqa', 'dev');
    assert.deepEqual(again, first);
    // Callers get their own array.
    again.pop();
    assert.equal((await loadSplit(dir, 'hotpotqa', 'dev')).length, 1);
    clearSplitMemo();
    await rejectsWith(loadSplit(dir, 'hotpotqa', 'dev'), 'MissingData', file);
    // A failed load is not remembered.
    await fs.writeFile(file, JSON.stringify([{ question: 'Q2', answer: 'B', type: 'comparison' }]));
    assert.equal((await loadSplit(dir, 'hotpotqa', 'dev'))[0].text, 'Q2');
  } finally {
    clearSplitMemo();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

void test('registered split loaders serve derived splits, memoised', async () => {
  let calls = 0;
  const seen: [string, TaskName][] = [];
  registerSplitLoader('derived-test', async (dataDir, task) => {
    calls += 1;
    seen.push([dataDir, task]);
    const q: Question = { task, split: 'derived-test', id: 'h1', text: 'derived?', answers: ['x'] };
    return [q];
  });
  assert.ok(splitsOf('hotpotqa').includes('derived-test'));
  assert.deepEqual(splitsOf('hotpotqa').slice(0, 2), ['dev', 'test']);
  const a = await loadSplit(DATA, 'strategyqa', 'derived-test');
  const b = await loadSplit(DATA, 'strategyqa', 'derived-test');
  assert.deepEqual(a, b);
  assert.equal(a[0].text, 'derived?');
  assert.equal(calls, 1);
  assert.deepEqual(seen, [[DATA, 'strategyqa']]);
  await loadSplit(DATA, 'hotpotqa', 'derived-test');
  assert.equal(calls, 2);
});
