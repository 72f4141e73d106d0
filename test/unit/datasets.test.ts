import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import type { DatasetMix, MethodName, TaskName } from '../../core/config';
import { emptyUsage, TRAJECTORY_SCHEMA, trajectoryId, type TrajectoryRecord, type Turn } from '../../core/trajectory';
import { buildDatasetMix } from '../../lib/datasets/build';
import {
  pythonStrip,
  splitChoices,
  splitInstruction,
  toAlpacaJson,
  toAlpacaRecord,
  toChatLine,
  toOpenAIChatLine,
  validateAlpacaRecord,
  validateChatLine,
  type AlpacaRecord,
} from '../../lib/datasets/formats';
import { pythonFloatRepr, pythonJsonDumps } from '../../lib/datasets/python-json';

import { DATA_DIR as DATA } from '../../scripts/support/paths';
const FINETUNE = path.join(DATA, 'finetune');

/** Runs a Python snippet that reads JSON from stdin and prints JSON; returns the parsed result. */
function python(code: string, input: unknown): unknown {
  const out = execFileSync('python3', ['-c', code], { input: JSON.stringify(input), encoding: 'utf8' });
  return JSON.parse(out);
}

interface ChatMessage {
  role: string;
  content: string;
}

/** A TrajectoryRecord made by hand from a released trajectory: raw question text, turns from the messages. */
function recordFromRelease(opts: { task: TaskName; method: MethodName; qid: string; questionText: string; messages: ChatMessage[] }): TrajectoryRecord {
  const turns: Turn[] = opts.messages.slice(1).map((m) => {
    if (m.role === 'assistant') return { role: 'assistant', content: m.content };
    assert.ok(m.content.startsWith('Observation: '), `observation without prefix: ${m.content.slice(0, 40)}`);
    return { role: 'observation', content: m.content.slice('Observation: '.length) };
  });
  const question = { task: opts.task, split: 'fireact', id: opts.qid, text: opts.questionText, answers: [] };
  return {
    schema: TRAJECTORY_SCHEMA,
    id: trajectoryId(question, opts.method),
    experiment: 'release-check',
    question,
    method: opts.method,
    teacher: { name: 'teacher', provider: 'replay', model: 'gpt-4', replay: true },
    turns,
    prediction: null,
    finished: true,
    reward: 1,
    metrics: {},
    steps: turns.length,
    trials: 1,
    malformed: 0,
    forcedFinish: false,
    usage: emptyUsage(),
  };
}

function readLines(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'));
  return text.slice(0, -1).split('\n');
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

void describe('pythonJsonDumps matches Python json.dumps', () => {
  const strings = [
    '',
    'plain ascii',
    'say "hi" and \'bye\'',
    'back\\slash \\n not a newline',
    'tab\there\nnewline\rreturn\bback\fform',
    Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join(''),
    'del \x7f and nbsp \xa0',
    'line sep \u2028 para sep \u2029',
    'emoji 😀 and 🧪 astral',
    'accents: café, naïve, Zürich, Ångström',
    'CJK 東京 and Cyrillic Москва',
    'lone surrogates \ud800 and \udfff',
    '</script> and / slash',
    'range 2007\u20132008 quote \u201cx\u201d',
  ];
  const numbers = [0, -0, 1, -1, 42, 3.14, -2.5e-10, 0.1, 1e-7, 0.0001, 0.00001, 123456.789, 1e15, 1e16, 1.5e16, 2 ** 53 + 2, 1.2345678901234568e20, 1e21, 1e300, 5e-324, 1 / 3, 100.5];
  const values: unknown[] = [
    ...strings,
    ...numbers,
    true,
    false,
    null,
    [],
    {},
    [[], {}, [1, [2, [3, {}]]]],
    { messages: [{ role: 'user', content: strings.join(' | ') }, { role: 'assistant', content: 'Action: finish[é]' }] },
    { a: { b: { c: [1, 'x', null, true] } }, empty: [], e2: {}, n: 1.5 },
    [{ instruction: 'Q?', input: '', output: 'A. x\nB. y\n' }],
  ];

  void test('compact and indented output equal python3 byte for byte', () => {
    const cases = values.flatMap((value) => [null, 0, 2, 4].map((indent) => ({ value, indent })));
    const expected = python(
      'import json,sys\ncases=json.load(sys.stdin)\nprint(json.dumps([json.dumps(c["value"]) if c["indent"] is None else json.dumps(c["value"], indent=c["indent"]) for c in cases]))',
      cases,
    ) as string[];
    assert.equal(expected.length, cases.length);
    cases.forEach((c, i) => {
      const ours = pythonJsonDumps(c.value, c.indent === null ? {} : { indent: c.indent });
      assert.equal(ours, expected[i], `case ${i}: ${JSON.stringify(c.value).slice(0, 80)} indent=${c.indent}`);
    });
  });

  void test('json.dump(indent=4) into a file writes the same text as toAlpacaJson', () => {
    const records: AlpacaRecord[] = [
      { instruction: 'Who?\u00e9', input: '', output: 'Thought: x\nAction: finish[y]\nObservation: Episode finished, reward = 1\n' },
      { instruction: ' padded ', input: '', output: 'A. 1\nB. 2\nC. 3\nD. 4\nThought: 😀' },
    ];
    const expected = python(
      'import json,sys,io\nrecs=json.load(sys.stdin)\nf=io.StringIO()\njson.dump(recs,f,indent=4)\nprint(json.dumps(f.getvalue()))',
      records,
    );
    assert.equal(toAlpacaJson(records), expected);
    assert.equal(toAlpacaJson([]), '[]');
  });

  void test('float repr and non-finite numbers follow Python', () => {
    // Sent as text so Python reads each as a float (JSON would turn 1e16 into an int).
    const floats = [0.1, 1e-5, 1e16, 1.5e16, 1.5e-7, 123.456, 1e22, 2.5e-300, 1234567890123456, 0.0001];
    const expected = python(
      'import json,sys\nprint(json.dumps([repr(float(x)) for x in json.load(sys.stdin)] + [json.dumps([float("nan"), float("inf"), -float("inf")])]))',
      floats.map(String),
    ) as string[];
    assert.deepEqual(floats.map(pythonFloatRepr), expected.slice(0, floats.length));
    assert.equal(pythonJsonDumps([NaN, Infinity, -Infinity]), expected[floats.length]);
  });

  void test('rejects what JSON cannot hold', () => {
    assert.throws(() => pythonJsonDumps(undefined), TypeError);
    assert.throws(() => pythonJsonDumps(() => 1), TypeError);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    assert.throws(() => pythonJsonDumps(loop), /circular/);
    assert.equal(pythonJsonDumps({ a: 1, skip: undefined }), '{"a": 1}');
  });

  void test('pythonStrip strips what str.strip() strips', () => {
    const samples = ['  a b  ', '\x1c\x1dx\x1e\x1f', '\x85y\xa0', '\ufeffz\ufeff', '\u3000w\u2028', '\t\n\x0b\x0cq\r'];
    const expected = python('import json,sys\nprint(json.dumps([s.strip() for s in json.load(sys.stdin)]))', samples);
    assert.deepEqual(samples.map(pythonStrip), expected);
  });
});

void describe('format rules', () => {
  const base = recordFromRelease({
    task: 'mmlu',
    method: 'react',
    qid: '1',
    questionText: 'Question: Which?\nA. one\nB. two \nC. three\nD. four ',
    messages: [
      { role: 'user', content: '' },
      { role: 'assistant', content: 'Thought: so D.\nAction: finish[D]' },
      { role: 'user', content: 'Observation: Episode finished, reward = 1' },
    ],
  });

  void test('splitChoices finds the A-D block only when complete', () => {
    assert.deepEqual(splitChoices('Question: Which?\nA. one\nB. two\nC. three\nD. four'), {
      stem: 'Question: Which?',
      choices: ['A. one', 'B. two', 'C. three', 'D. four'],
    });
    assert.deepEqual(splitChoices('Plan:\nA. only a list\nB. of two'), { stem: 'Plan:\nA. only a list\nB. of two', choices: [] });
    assert.deepEqual(splitChoices('Q\nA. a\nB. b\nC. c\nE. e'), { stem: 'Q\nA. a\nB. b\nC. c\nE. e', choices: [] });
    // The block starts at the first A. line that is followed by B., C., D.
    assert.equal(splitChoices('Q\nA. note\nA. a\nB. b\nC. c\nD. d').stem, 'Q\nA. note');
  });

  void test('splitInstruction: stem before the choices, else the first line', () => {
    assert.deepEqual(splitInstruction('Question: Which code\nprints 1?\nA. a\nB. b\nC. c\nD. d'), {
      instruction: 'Question: Which code\nprints 1?',
      outputLines: ['A. a', 'B. b', 'C. c', 'D. d'],
    });
    assert.deepEqual(splitInstruction('Is it?\nYes or no: Is it?'), { instruction: 'Is it?', outputLines: ['Yes or no: Is it?'] });
    assert.deepEqual(splitInstruction(' One line '), { instruction: ' One line ', outputLines: [] });
  });

  void test('chat line: trimmed question, assistant turns, observations as user turns', () => {
    const line = toChatLine(base);
    assert.deepEqual(line.messages, [
      { role: 'user', content: 'Question: Which?\nA. one\nB. two \nC. three\nD. four' },
      { role: 'assistant', content: 'Thought: so D.\nAction: finish[D]' },
      { role: 'user', content: 'Observation: Episode finished, reward = 1' },
    ]);
    assert.equal(toOpenAIChatLine(base), pythonJsonDumps(line));
    assert.match(toOpenAIChatLine(base), /^\{"messages": \[\{"role": "user", "content": "Question: Which\?\\nA\. one/);
    assert.deepEqual(validateChatLine(line), []);
  });

  void test('alpaca record: raw stem, raw choice lines, trailing newline except for cot and io', () => {
    const react = toAlpacaRecord(base);
    assert.deepEqual(react, {
      instruction: 'Question: Which?',
      input: '',
      output: 'A. one\nB. two \nC. three\nD. four \nThought: so D.\nAction: finish[D]\nObservation: Episode finished, reward = 1\n',
    });
    for (const method of ['cot', 'io'] as const) {
      assert.equal(toAlpacaRecord({ ...base, method }).output, react.output.slice(0, -1));
    }
    assert.equal(toAlpacaRecord({ ...base, method: 'reflexion' }).output, react.output);
    const plain = toAlpacaRecord({ ...base, question: { ...base.question, text: ' Who? ' } });
    assert.equal(plain.instruction, ' Who? ');
    assert.ok(plain.output.startsWith('Thought: so D.'));
    assert.deepEqual(validateAlpacaRecord(react), []);
  });

  void test('validateChatLine names each problem', () => {
    assert.deepEqual(validateChatLine('x'), ['(root): not a JSON object']);
    assert.deepEqual(validateChatLine({}), ['messages: not an array']);
    assert.deepEqual(validateChatLine({ messages: [] }), ['messages: empty']);
    assert.deepEqual(validateChatLine({ messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] }), []);
    const problems = validateChatLine({
      extra: 1,
      messages: [
        { role: 'assistant', content: 'a' },
        { role: 'assistant', content: 'b' },
        { role: 'tool', content: 'c' },
        { role: 'user', content: '  ' },
        { role: 'system', content: 'late' },
        { role: 'user', content: 5, foo: 1 },
      ],
    });
    assert.deepEqual(problems, [
      'extra: unexpected key',
      'messages[0].role: the first non-system message must be from the user',
      'messages[1].role: expected user (user and assistant must alternate)',
      'messages[2].role: must be system, user or assistant, got "tool"',
      'messages[3].content: empty',
      'messages[4].role: system message after the conversation started',
      'messages[5].foo: unexpected key',
      'messages[5].content: not a string',
      'messages[5].role: expected assistant (user and assistant must alternate)',
    ]);
    assert.deepEqual(validateChatLine({ messages: [{ role: 'user', content: 'q' }] }), ['messages: no assistant message to train on']);
  });

  void test('validateAlpacaRecord names each problem', () => {
    assert.deepEqual(validateAlpacaRecord({ instruction: 'q', input: '', output: 'a' }), []);
    assert.deepEqual(validateAlpacaRecord([]), ['(root): not a JSON object']);
    assert.deepEqual(validateAlpacaRecord({ instruction: ' ', output: '', x: 1 }), [
      'x: unexpected key',
      'input: not a string',
      'instruction: empty',
      'output: empty',
    ]);
  });
});

void describe('round trip against the released FireAct files', () => {
  void test('hotpotqa: the alpaca file rebuilt byte for byte, the chat file line by line', () => {
    const lines = readLines(path.join(FINETUNE, 'gpt_format/hotpotqa.jsonl'));
    const alpacaText = readFileSync(path.join(FINETUNE, 'alpaca_format/hotpotqa.json'), 'utf8');
    const alpaca = JSON.parse(alpacaText) as AlpacaRecord[];
    assert.equal(lines.length, 500);
    assert.equal(alpaca.length, 500);
    // The two hotpotqa files list the same trajectories in the same order.
    const records = lines.map((line, i) =>
      recordFromRelease({
        task: 'hotpotqa',
        method: 'react',
        qid: String(i).padStart(4, '0'),
        questionText: alpaca[i].instruction,
        messages: (JSON.parse(line) as { messages: ChatMessage[] }).messages,
      }),
    );
    for (let i = 0; i < 5; i++) {
      assert.equal(toOpenAIChatLine(records[i]), lines[i]);
      assert.deepEqual(toAlpacaRecord(records[i]), alpaca[i]);
    }
    const mix: DatasetMix = { name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['react'], formats: ['openai', 'alpaca'] };
    const built = buildDatasetMix([...records].reverse(), mix, 1);
    assert.equal(built.alpacaJson, alpacaText);
    assert.equal(built.sha256.alpaca, sha256(alpacaText));
    // Unlike the other three released chat files, hotpotqa.jsonl stripped only leading whitespace from
    // the question (26 questions keep a trailing space). We strip both ends, as the other files do, so
    // those lines differ from the release by exactly that trailing whitespace and nothing else.
    const ours = built.chatJsonl!.split('\n');
    assert.equal(ours.pop(), '');
    let trailing = 0;
    ours.forEach((line, i) => {
      if (alpaca[i].instruction === alpaca[i].instruction.trimEnd()) {
        assert.equal(line, lines[i], `line ${i}`);
        return;
      }
      trailing++;
      const released = JSON.parse(lines[i]) as { messages: ChatMessage[] };
      released.messages[0].content = released.messages[0].content.trimEnd();
      assert.notEqual(line, lines[i]);
      assert.equal(line, pythonJsonDumps(released), `line ${i}`);
    });
    assert.equal(trailing, 26);
    assert.deepEqual(built.counts, { total: 500, byTask: { hotpotqa: 500 }, byMethod: { react: 500 } });
  });

  // The multi-task files are not in the same order in both formats: pair them by their output text.
  function pairRecords(name: string, methodOf: (alpaca: AlpacaRecord) => MethodName) {
    const lines = readLines(path.join(FINETUNE, `gpt_format/${name}.jsonl`));
    const alpaca = JSON.parse(readFileSync(path.join(FINETUNE, `alpaca_format/${name}.json`), 'utf8')) as AlpacaRecord[];
    const squeeze = (s: string) => s.split(/\s+/).filter(Boolean).join(' ');
    const byOutput = new Map<string, AlpacaRecord[]>();
    for (const a of alpaca) byOutput.set(squeeze(a.output), [...(byOutput.get(squeeze(a.output)) ?? []), a]);
    const pairs: Array<{ line: string; alpaca: AlpacaRecord; record: TrajectoryRecord; chatShaped: boolean }> = [];
    lines.forEach((line, i) => {
      const messages = (JSON.parse(line) as { messages: ChatMessage[] }).messages;
      const { outputLines } = splitInstruction(messages[0].content);
      const body = messages.slice(1).map((m) => m.content).join('\n');
      const a = byOutput.get(squeeze(outputLines.join('\n') + '\n' + body))?.[0];
      if (!a) return;
      // Raw question text: the instruction plus the raw lines that open the alpaca output.
      const rawLines = a.output.split('\n').slice(0, outputLines.length);
      const questionText = [a.instruction, ...rawLines].join('\n');
      // A few released lines are not user/assistant/user...: no record renders to them as chat.
      const chatShaped = messages.every((m, j) => m.role === (j === 0 || j % 2 === 0 ? 'user' : 'assistant'));
      const record = recordFromRelease({
        task: splitChoices(questionText).choices.length ? 'mmlu' : 'hotpotqa',
        method: methodOf(a),
        qid: String(i),
        questionText,
        messages: chatShaped ? messages : messages.map((m) => ({ ...m, role: m.content.startsWith('Observation: ') ? 'user' : 'assistant' })),
      });
      pairs.push({ line, alpaca: a, record, chatShaped });
    });
    return pairs;
  }

  void test('multitask (ReAct): every paired record, MMLU included, formats exactly', () => {
    const pairs = pairRecords('multitask', () => 'react');
    assert.equal(pairs.length, 1344);
    assert.ok(pairs.filter((p) => p.record.question.task === 'mmlu').length > 400);
    // Single-turn ReAct records still end in a newline: the rule is by method, not by length.
    assert.ok(pairs.filter((p) => p.record.turns.length <= 2).length > 300);
    for (const p of pairs) {
      assert.ok(p.chatShaped);
      assert.equal(toOpenAIChatLine(p.record), p.line);
      assert.deepEqual(toAlpacaRecord(p.record), p.alpaca);
      assert.deepEqual(validateChatLine(toChatLine(p.record)), []);
    }
  });

  void test('multitask_multimethod: CoT records have no trailing newline, the rest do', () => {
    // The released gpt lines do not say their method; CoT is the one written without a final newline.
    const pairs = pairRecords('multitask_multimethod', (a) => (a.output.endsWith('\n') ? 'react' : 'cot'));
    assert.equal(pairs.length, 2063);
    assert.equal(pairs.filter((p) => !p.chatShaped).length, 7);
    const cot = pairs.filter((p) => p.record.method === 'cot');
    assert.ok(cot.length > 600);
    assert.ok(cot.every((p) => p.record.turns.length <= 2), 'CoT records are a single assistant turn');
    for (const p of pairs) {
      if (p.chatShaped) assert.equal(toOpenAIChatLine(p.record), p.line);
      assert.deepEqual(toAlpacaRecord(p.record), p.alpaca);
    }
    // The one two-line question among them keeps its second line in the output, as released.
    const twoLine = pairs.find((p) => p.chatShaped && p.record.question.text.startsWith('Does a person need to be a parent'))!;
    assert.equal(twoLine.alpaca.instruction, 'Does a person need to be a parent to become a grandparent?');
    assert.ok(twoLine.alpaca.output.startsWith('Yes or no: Does a person need to be a parent to become a grandparent?\nThought: '));
  });
});

void describe('buildDatasetMix', () => {
  const tasks: TaskName[] = ['hotpotqa', 'strategyqa', 'mmlu'];
  const methods: MethodName[] = ['react', 'cot', 'reflexion'];
  const records = tasks.flatMap((task) =>
    methods.flatMap((method) =>
      Array.from({ length: 10 }, (_, i) =>
        recordFromRelease({
          task,
          method,
          qid: String(i).padStart(2, '0'),
          questionText: `${task} question ${i}?`,
          messages: [
            { role: 'user', content: '' },
            { role: 'assistant', content: `Thought: ${method} answer ${i}\nAction: finish[${i}]` },
            { role: 'user', content: 'Observation: Episode finished, reward = 1' },
          ],
        }),
      ),
    ),
  );

  void test('selects tasks × methods, in id order, with counts and hashes of the exact text', () => {
    const mix: DatasetMix = { name: 'm', tasks: ['mmlu', 'hotpotqa'], methods: ['react', 'cot'], formats: ['openai', 'alpaca'] };
    const built = buildDatasetMix(records, mix, 7);
    assert.equal(built.counts.total, 40);
    assert.deepEqual(built.counts.byTask, { hotpotqa: 20, mmlu: 20 });
    assert.deepEqual(built.counts.byMethod, { cot: 20, react: 20 });
    assert.deepEqual(built.ids, [...built.ids].sort());
    assert.equal(built.ids[0], 'hotpotqa/fireact/cot/00');
    const lines = built.chatJsonl!.split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, 40);
    assert.equal(JSON.parse(built.alpacaJson!).length, 40);
    assert.equal(built.sha256.openai, sha256(built.chatJsonl!));
    assert.equal(built.sha256.alpaca, sha256(built.alpacaJson!));
    // Input order does not matter.
    assert.deepEqual(buildDatasetMix([...records].reverse(), mix, 7), built);
  });

  void test('only the formats asked for are produced', () => {
    const built = buildDatasetMix(records, { name: 'm', tasks: ['hotpotqa'], methods: ['react'], formats: ['openai'] }, 1);
    assert.equal(built.alpacaJson, undefined);
    assert.equal(built.sha256.alpaca, undefined);
    assert.ok(built.chatJsonl);
    const alpacaOnly = buildDatasetMix(records, { name: 'm', tasks: ['hotpotqa'], methods: ['react'], formats: ['alpaca'] }, 1);
    assert.equal(alpacaOnly.chatJsonl, undefined);
    assert.ok(alpacaOnly.alpacaJson);
  });

  void test('maxRecords is a seeded choice, stable under input order and pool growth', () => {
    const mix: DatasetMix = { name: 'm', tasks: ['hotpotqa', 'strategyqa', 'mmlu'], methods: ['react', 'cot', 'reflexion'], formats: ['openai'], maxRecords: 25 };
    const a = buildDatasetMix(records, mix, 233);
    assert.equal(a.counts.total, 25);
    assert.deepEqual(a.ids, [...a.ids].sort());
    assert.deepEqual(buildDatasetMix([...records].reverse(), mix, 233).ids, a.ids);
    assert.notDeepEqual(buildDatasetMix(records, mix, 234).ids, a.ids);
    // Removing records that were not chosen changes nothing.
    const chosen = new Set(a.ids);
    const smaller = records.filter((r, i) => chosen.has(r.id) || i % 2 === 0);
    assert.deepEqual(buildDatasetMix(smaller, mix, 233).ids, a.ids);
  });

  void test('a record that cannot make a valid example fails the build as BadDatasetRecord', () => {
    const bad = { ...records[0], id: 'hotpotqa/react/zz', question: { ...records[0].question, text: '   ' } };
    const mix: DatasetMix = { name: 'm', tasks: ['hotpotqa'], methods: ['react'], formats: ['openai', 'alpaca'] };
    assert.throws(
      () => buildDatasetMix([...records, bad], mix, 1),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'BadDatasetRecord');
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, /hotpotqa\/react\/zz \(openai\): messages\[0\]\.content: empty/);
        assert.match(err.message, /hotpotqa\/react\/zz \(alpaca\): instruction: empty/);
        return true;
      },
    );
  });
});
