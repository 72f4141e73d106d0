// `fireact score`: predictions files scored by the task's scorer through the real CLI, with answers
// given inline or looked up by question text in the real split, null predictions, and bad lines.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from '@jest/globals';
import { DATA_DIR, REPO_ROOT, tempDir } from '../../scripts/support/paths';

let dir: string;

beforeAll(async () => {
  dir = await tempDir('score');
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'fireact.js'), ...args], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function writeLines(name: string, rows: unknown[]): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return file;
}

interface ScoreJson {
  task: string;
  split: string;
  scoring: string;
  n: number;
  unfinished: number;
  metrics: Record<string, { mean: number; ci95: [number, number]; split: string; scoring: string; n: number }>;
}

/** The output, with each metric's mean flattened into `means`; checks every metric names its split, rule and n. */
async function score(args: string[]): Promise<ScoreJson & { means: Record<string, number> }> {
  const r = await runCli(['score', ...args, '--data-dir', DATA_DIR]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as ScoreJson;
  const means: Record<string, number> = {};
  for (const [name, m] of Object.entries(out.metrics)) {
    const [lo, hi] = m.ci95;
    assert.ok(lo <= m.mean && m.mean <= hi, `${name}: ${lo} <= ${m.mean} <= ${hi}`);
    assert.deepEqual({ split: m.split, scoring: m.scoring, n: m.n }, { split: out.split, scoring: out.scoring, n: out.n }, name);
    means[name] = m.mean;
  }
  return { ...out, means };
}

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('hotpotqa by answer: EM and F1 as computed by hand, a null prediction scoring 0', async () => {
  const file = await writeLines('hotpot-answers.jsonl', [
    { prediction: 'Paris', answer: 'Paris' }, // EM 1, F1 1
    { prediction: 'the Eiffel Tower!', answer: ['tower', 'Eiffel tower'] }, // EM 1 on the second gold
    { prediction: 'New York City', answer: 'New York' }, // EM 0, F1 = 2·(2/3·1)/(2/3+1) = 0.8
    { prediction: null, answer: 'Lyon' }, // unfinished
  ]);
  const out = await score(['--task', 'hotpotqa', '--predictions', file]);
  assert.equal(out.task, 'hotpotqa');
  assert.equal(out.split, 'dev');
  assert.equal(out.scoring, 'lenient', 'the default rule, named in the output');
  assert.equal(out.n, 4);
  assert.equal(out.unfinished, 1);
  assert.deepEqual(Object.keys(out.metrics).sort(), ['em', 'f1']);
  close(out.means.em, 0.5);
  close(out.means.f1, 0.7);
});

test('hotpotqa by question: gold looked up in dev by exact, then whitespace-normalised, text', async () => {
  const dev = JSON.parse(await fs.readFile(path.join(DATA_DIR, 'hotpotqa', 'dev.json'), 'utf8')) as Array<{ question: string; answer: string }>;
  const file = await writeLines('hotpot-questions.jsonl', [
    { prediction: dev[0].answer, question: dev[0].question },
    { prediction: dev[1].answer.toUpperCase(), question: `  ${dev[1].question.replace(/ /g, '   ')}\n` },
    { prediction: 'Wrong answer entirely', question: dev[2].question },
    { prediction: dev[3].answer, question: dev[3].question },
  ]);
  const out = await score(['--task', 'hotpotqa', '--predictions', file]);
  assert.equal(out.n, 4);
  close(out.means.em, 0.75);
  assert.ok(out.means.f1 >= 0.75 && out.means.f1 < 1);
});

test('strategyqa: yes/no accuracy, answers inline or from the dev split', async () => {
  const dev = JSON.parse(await fs.readFile(path.join(DATA_DIR, 'strategyqa', 'strategyqa_dev.json'), 'utf8')) as Array<{ question: string; answer: boolean }>;
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  const file = await writeLines('strategyqa.jsonl', [
    { prediction: 'Yes, it would.', answer: 'yes' },
    { prediction: 'no', answer: 'yes' },
    { prediction: yn(dev[0].answer), question: dev[0].question },
    { prediction: yn(!dev[1].answer), question: dev[1].question },
    { prediction: null, question: dev[2].question },
  ]);
  const out = await score(['--task', 'strategyqa', '--predictions', file]);
  assert.deepEqual(Object.keys(out.metrics), ['accuracy']);
  assert.equal(out.n, 5);
  assert.equal(out.unfinished, 1);
  close(out.means.accuracy, 2 / 5);
});

test('mmlu: letter accuracy, with a question looked up in the test split', async () => {
  const sky =
    "Question: Why is the sky blue?\nA. Because the molecules that compose the Earth's atmosphere have a blue-ish color.\n" +
    "B. Because the sky reflects the color of the Earth's oceans.\nC. Because the atmosphere preferentially scatters short wavelengths.\n" +
    "D. Because the Earth's atmosphere preferentially absorbs all other colors.";
  const file = await writeLines('mmlu.jsonl', [
    { prediction: 'C', question: sky },
    { prediction: 'The answer is (A)', question: sky },
    { prediction: 'B.', answer: ['B', 'forty'] },
    { prediction: 'forty', answer: ['B', 'forty'] },
    { prediction: null, answer: 'D' },
  ]);
  const out = await score(['--task', 'mmlu', '--predictions', file]);
  assert.equal(out.split, 'test');
  assert.equal(out.n, 5);
  close(out.means.accuracy, 3 / 5);
});

test('bad lines: exit 1, each named by file and line and what is wrong', async () => {
  const file = await writeLines('bad.jsonl', [
    { prediction: 'Paris', answer: 'Paris' },
    '{"prediction": "unterminated',
    { answer: 'x' },
    { prediction: 'x', question: 'Is this question in HotpotQA dev? Surely not.' },
    { prediction: 3, answer: 'x' },
    { prediction: 'x' },
    '[1, 2]',
  ]);
  const r = await runCli(['score', '--task', 'hotpotqa', '--predictions', file, '--data-dir', DATA_DIR]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: not JSON`));
  assert.ok(r.stderr.includes(`${file}:3: missing prediction`), r.stderr);
  assert.ok(r.stderr.includes(`${file}:4: unknown question`), r.stderr);
  assert.ok(r.stderr.includes(`${file}:5: prediction must be a string or null`), r.stderr);
  assert.ok(r.stderr.includes(`${file}:6: needs "answer"`), r.stderr);
  assert.ok(r.stderr.includes(`${file}:7: not a JSON object`), r.stderr);
  assert.ok(!r.stderr.includes(`${file}:1:`), r.stderr);
});

test('a split without gold answers, an unknown task and an empty file all exit 1', async () => {
  const test0 = JSON.parse(await fs.readFile(path.join(DATA_DIR, 'hotpotqa', 'test.json'), 'utf8')) as Array<{ question: string }>;
  const noGold = await writeLines('no-gold.jsonl', [{ prediction: 'x', question: test0[0].question }]);
  const empty = await writeLines('empty.jsonl', []);
  const [a, b, c] = await Promise.all([
    runCli(['score', '--task', 'hotpotqa', '--split', 'test', '--predictions', noGold, '--data-dir', DATA_DIR]),
    runCli(['score', '--task', 'trivia', '--predictions', noGold]),
    runCli(['score', '--task', 'hotpotqa', '--predictions', empty, '--data-dir', DATA_DIR]),
  ]);
  assert.equal(a.status, 1);
  assert.ok(a.stderr.includes(`${noGold}:1: the split has no gold answer`), a.stderr);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /unknown task "trivia"/);
  assert.equal(c.status, 1);
  assert.match(c.stderr, /no predictions/);
});

test('--scoring fireact applies the authors\' rules; each metric names the rule, the split and the n', async () => {
  const file = await writeLines('rules.jsonl', [
    { prediction: 'Answer: B', answer: ['A', 'x'] }, // fireact 1 (starts with "a"), lenient 0
    { prediction: '(B)', answer: ['B', 'y'] }, // fireact 0, lenient 1
    { prediction: 'B. y', answer: ['B', 'y'] }, // both 1
    { prediction: null, answer: ['C', 'z'] }, // both 0
  ]);
  const fireact = await score(['--task', 'mmlu', '--predictions', file, '--scoring', 'fireact']);
  const lenient = await score(['--task', 'mmlu', '--predictions', file, '--scoring', 'lenient']);
  assert.equal(fireact.scoring, 'fireact');
  assert.deepEqual({ split: fireact.metrics.accuracy.split, scoring: fireact.metrics.accuracy.scoring, n: fireact.metrics.accuracy.n }, { split: 'test', scoring: 'fireact', n: 4 });
  close(fireact.means.accuracy, 2 / 4);
  assert.equal(lenient.scoring, 'lenient');
  close(lenient.means.accuracy, 2 / 4);

  const yn = await writeLines('rules-yn.jsonl', [
    { prediction: ' yes', answer: 'yes' }, // fireact 0 (no trimming), lenient 1
    { prediction: 'nope', answer: 'no' }, // fireact 1, lenient 0
    { prediction: 'The answer is yes', answer: 'yes' }, // fireact 0, lenient 1
  ]);
  close((await score(['--task', 'strategyqa', '--predictions', yn, '--scoring', 'fireact'])).means.accuracy, 1 / 3);
  close((await score(['--task', 'strategyqa', '--predictions', yn])).means.accuracy, 2 / 3);
});

test('score --help exits 0 and names the scoring rules; an unknown rule exits 1 naming the allowed ones', async () => {
  const help = await runCli(['score', '--help']);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /--scoring lenient\|fireact/);
  const bad = await runCli(['score', '--task', 'mmlu', '--predictions', 'x.jsonl', '--scoring', 'strict']);
  assert.equal(bad.status, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /score: unknown scoring rule "strict"; use lenient or fireact/);
});
