import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from '@jest/globals';
import { promisify } from 'node:util';
import { createArtifactStore } from '../../lib/artifacts/store';
import { renderHtml } from '../../lib/report/render-html';
import { renderMarkdown } from '../../lib/report/render-markdown';
import { comparePaper, type EvalSampleInfo, type StudentInfo } from '../../lib/report/paper';
import { PAPER_RESULTS } from '../../lib/report/paper-results';
import type { EvalRow, MetricWithCi, ReportInput } from '../../lib/report/types';
import { writeReport } from '../../lib/report/write-report';
import { decodePng, pixel, renderPage, type Image } from '../support/chromium';
import { DATA_DIR, REPO_ROOT, tempDir } from '../../scripts/support/paths';
import { perTestCleanup } from '../support/cleanup';

const onCleanup = perTestCleanup();

const run = promisify(execFile);

const STUDENT = 'tiny-student@multitask-multimethod';

function ci(mean: number, lo: number, hi: number): MetricWithCi {
  return { mean, lo, hi };
}

function evalRow(
  model: string,
  kind: EvalRow['kind'],
  task: string,
  method: string,
  noise: EvalRow['noise'],
  metrics: Record<string, MetricWithCi>,
  validActionRate: number,
  finishedRate: number,
  meanSteps: number,
): EvalRow {
  return {
    model,
    kind,
    task,
    split: 'dev',
    method,
    noise,
    n: 100,
    scoring: 'lenient',
    metrics,
    validActionRate,
    finishedRate,
    meanSteps,
    promptTokens: 150_000,
    completionTokens: 9_000,
    costUsd: 0,
  };
}

// A demo-sized experiment: replayed GPT-4 teacher, a base model and the tiny student fine-tuned from it,
// two tasks, two methods, tool noise on one task.
function reportInput(): ReportInput {
  const hp = (em: MetricWithCi, f1: MetricWithCi) => ({ em, f1 });
  const sq = (accuracy: MetricWithCi) => ({ accuracy });
  return {
    experiment: 'demo-20240101',
    name: 'FireAct demo: multitask, multimethod',
    description: 'Replication of FireAct Table 2 on the <offline> demo & a tiny student.',
    generatedAt: '2024-01-01T12:00:00.000Z',
    teacher: { name: 'teacher', model: 'gpt-4 <replay> & co', replay: true },
    students: [
      {
        name: STUDENT,
        backend: 'local',
        baseModel: 'tiny-llama-config',
        dataset: 'multitask-multimethod',
        tinyDemoModel: true,
        fineTunedModel: 'finetune/tiny-student/final',
        steps: 200,
        trainLoss: 1.2345,
        tokensPerSecond: 15234,
      },
    ],
    datasets: [
      { name: 'multitask-multimethod', records: 240, byTask: { hotpotqa: 120, strategyqa: 70, mmlu: 50 }, byMethod: { react: 100, cot: 80, reflexion: 60 } },
      { name: 'hotpotqa-react', records: 100, byTask: { hotpotqa: 100 }, byMethod: { react: 100 } },
    ],
    curation: { total: 260, kept: 240, drops: { unsuccessful: 16, 'eval-leak': 4 } },
    replaySkipped: { 'assistant turn first': 2, 'broken alternation': 5, 'assistant turn without action': 5 },
    evaluation: [
      // Deliberately out of order: the report sorts.
      evalRow(STUDENT, 'student', 'hotpotqa', 'react', 'none', hp(ci(0.213, 0.17, 0.26), ci(0.302, 0.251, 0.353)), 0.947, 0.97, 3.88),
      evalRow('teacher', 'teacher', 'hotpotqa', 'react', 'none', hp(ci(0.452, 0.4, 0.5), ci(0.571, 0.52, 0.62)), 0.982, 1, 3.41),
      evalRow('base', 'base', 'hotpotqa', 'react', 'none', hp(ci(0.124, 0.09, 0.16), ci(0.201, 0.16, 0.24)), 0.613, 0.74, 5.62),
      evalRow('base', 'base', 'hotpotqa', 'react', 'empty', hp(ci(0.081, 0.05, 0.11), ci(0.142, 0.11, 0.18)), 0.588, 0.7, 5.9),
      evalRow('base', 'base', 'hotpotqa', 'cot', 'none', hp(ci(0.156, 0.12, 0.19), ci(0.243, 0.2, 0.29)), 1, 1, 1),
      evalRow(STUDENT, 'student', 'hotpotqa', 'react', 'empty', hp(ci(0.162, 0.12, 0.2), ci(0.231, 0.19, 0.27)), 0.931, 0.96, 4.02),
      evalRow(STUDENT, 'student', 'hotpotqa', 'react', 'random', hp(ci(0.141, 0.1, 0.18), ci(0.212, 0.17, 0.26)), 0.926, 0.95, 4.17),
      evalRow(STUDENT, 'student', 'hotpotqa', 'cot', 'none', hp(ci(0.187, 0.15, 0.23), ci(0.268, 0.22, 0.31)), 1, 1, 1),
      evalRow('teacher', 'teacher', 'strategyqa', 'react', 'none', sq(ci(0.723, 0.65, 0.79)), 0.991, 1, 2.87),
      evalRow('base', 'base', 'strategyqa', 'react', 'none', sq(ci(0.541, 0.46, 0.62)), 0.702, 0.81, 4.4),
      evalRow('base', 'base', 'strategyqa', 'cot', 'none', sq(ci(0.566, 0.48, 0.64)), 1, 1, 1),
      evalRow(STUDENT, 'student', 'strategyqa', 'react', 'none', sq(ci(0.612, 0.53, 0.69)), 0.962, 0.98, 3.02),
      evalRow(STUDENT, 'student', 'strategyqa', 'cot', 'none', sq(ci(0.598, 0.52, 0.67)), 1, 1, 1),
    ],
    spend: [
      { model: 'teacher', stage: 'generate', calls: 780, cachedCalls: 0, promptTokens: 1_234_567, completionTokens: 98_765, costUsd: 0, unpriced: true },
      { model: 'gpt-4o-mini', stage: 'generate', calls: 12, cachedCalls: 3, promptTokens: 45_678, completionTokens: 2_345, costUsd: 0.0082, unpriced: false },
      { model: 'base', stage: 'evaluate', calls: 1300, cachedCalls: 120, promptTokens: 900_000, completionTokens: 60_000, costUsd: 0, unpriced: true },
      { model: STUDENT, stage: 'evaluate', calls: 1250, cachedCalls: 0, promptTokens: 880_000, completionTokens: 55_000, costUsd: 0, unpriced: true },
    ],
    stageSeconds: { prepare: 1.2, generate: 8.4, curate: 0.9, 'build-datasets': 0.6, finetune: 94.3, evaluate: 312.8, report: 0.3 },
  };
}

/** The lines of a Markdown section's first table body (after the header and separator lines). */
function markdownTableRows(md: string, heading: string): string[] {
  const start = md.indexOf(`## ${heading}\n`);
  assert.ok(start >= 0, `section "${heading}" missing`);
  const rest = md.slice(start + heading.length + 4);
  const end = rest.indexOf('\n## ');
  const body = (end < 0 ? rest : rest.slice(0, end)).split('\n').filter((l) => l.startsWith('|'));
  return body.slice(2);
}

test('markdown report: notes, results rows, comparisons, composition, drops, spend and time', () => {
  const md = renderMarkdown(reportInput());

  assert.ok(md.startsWith('# FireAct demo: multitask, multimethod\n'));
  assert.match(md, /Replication of FireAct Table 2 on the \\<offline\\> demo & a tiny student\./);
  assert.ok(md.includes('> **⚠ Teacher: replay of the GPT-4 trajectories released with FireAct — no model was called.**'));
  assert.ok(md.includes('not a pretrained model; numbers show the pipeline, not the paper’s results'));
  assert.ok(md.includes(`"${STUDENT}" (base "tiny-llama-config")`));
  // The notes come before any section, where a reader starts.
  assert.ok(md.indexOf('no model was called') < md.indexOf('## '));

  const results = markdownTableRows(md, 'Results');
  assert.equal(results.length, 13);
  assert.equal(results.filter((l) => l.startsWith('| HotpotQA |')).length, 8);
  assert.equal(results.filter((l) => l.startsWith('| StrategyQA |')).length, 5);
  // Sorted: task, split, noise, then teacher, base, student, then method.
  assert.equal(results[0], '| HotpotQA | dev | none | teacher | teacher (replay) | ReAct | lenient | 100 | 45.2 [40.0, 50.0] | 57.1 [52.0, 62.0] | — | 98.2% | 100.0% | 3.41 |');
  assert.ok(
    results.includes(`| HotpotQA | dev | none | ${STUDENT} | student (tiny demo) | ReAct | lenient | 100 | 21.3 [17.0, 26.0] | 30.2 [25.1, 35.3] | — | 94.7% | 97.0% | 3.88 |`),
  );
  assert.ok(results.includes(`| StrategyQA | dev | none | ${STUDENT} | student (tiny demo) | CoT | lenient | 100 | — | — | 59.8 [52.0, 67.0] | 100.0% | 100.0% | 1.00 |`));
  assert.ok(results.some((l) => l.startsWith(`| HotpotQA | dev | random snippet | ${STUDENT} |`)));

  const glance = markdownTableRows(md, 'At a glance: primary metric, no tool noise');
  assert.deepEqual(glance, [
    '| teacher | ReAct | 45.2 [40.0, 50.0] | 72.3 [65.0, 79.0] |',
    '| base | CoT | 15.6 [12.0, 19.0] | 56.6 [48.0, 64.0] |',
    '| base | ReAct | 12.4 [9.0, 16.0] | 54.1 [46.0, 62.0] |',
    `| ${STUDENT} | CoT | 18.7 [15.0, 23.0] | 59.8 [52.0, 67.0] |`,
    `| ${STUDENT} | ReAct | 21.3 [17.0, 26.0] | 61.2 [53.0, 69.0] |`,
  ]);

  const va = markdownTableRows(md, 'Valid-action rate before and after fine-tuning');
  assert.equal(va.length, 5);
  assert.ok(va.includes(`| ${STUDENT} | base | HotpotQA | dev | ReAct | none | 61.3% | 94.7% | +33.4 pp |`));
  assert.ok(va.includes(`| ${STUDENT} | base | HotpotQA | dev | ReAct | empty results | 58.8% | 93.1% | +34.3 pp |`));
  assert.ok(va.includes(`| ${STUDENT} | base | StrategyQA | dev | CoT | none | 100.0% | 100.0% | 0.0 pp |`));
  // The random-noise row has no base model beside it, and the report says so.
  assert.match(md, /No base-model evaluation to compare with: tiny-student@multitask-multimethod on HotpotQA dev, ReAct, noise random snippet\./);

  assert.deepEqual(markdownTableRows(md, 'Dataset composition'), [
    '| multitask-multimethod | 240 | 120 | 70 | 50 | 80 | 100 | 60 |',
    '| hotpotqa-react | 100 | 100 | 0 | 0 | 0 | 100 | 0 |',
  ]);
  assert.ok(md.includes('| Mix | Records | HotpotQA | StrategyQA | MMLU | CoT | ReAct | Reflexion |'));

  assert.match(md, /240 of 260 trajectories kept \(92\.3%\)/);
  assert.deepEqual(markdownTableRows(md, 'Curation'), ['| unsuccessful | 16 | 6.2% |', '| eval-leak | 4 | 1.5% |', '| **All drops** | **20** | **7.7%** |']);
  assert.deepEqual(markdownTableRows(md, 'Replay records skipped'), [
    '| assistant turn without action | 5 |',
    '| broken alternation | 5 |',
    '| assistant turn first | 2 |',
    '| **All skipped** | **12** |',
  ]);

  const spend = markdownTableRows(md, 'Spend');
  assert.equal(spend[0], '| teacher | generate | 780 | 0 | 1,234,567 | 98,765 | unpriced |');
  assert.equal(spend[1], '| gpt-4o-mini | generate | 12 | 3 | 45,678 | 2,345 | $0.0082 |');
  assert.equal(spend.at(-1), '| **Total** |  | **3,342** | **123** | **3,060,245** | **216,110** | **$0.0082 + unpriced** |');

  const time = markdownTableRows(md, 'Time per stage');
  assert.equal(time[0], '| prepare | 1.2 s | 1.2 | 0.3% |');
  assert.ok(time.includes('| evaluate | 5 min 13 s | 312.8 | 74.7% |'));
  assert.equal(time.at(-1), '| **All stages** | **6 min 59 s** | **418.5** | **100.0%** |');
});

test('markdown report without replay or tiny student carries neither note', () => {
  const input = reportInput();
  input.teacher = { name: 'teacher', model: 'gpt-4', replay: false };
  input.students = input.students.map((s) => ({ ...s, tinyDemoModel: false }));
  input.replaySkipped = {};
  const md = renderMarkdown(input);
  assert.ok(!md.includes('no model was called'));
  assert.ok(!md.includes('not a pretrained model'));
  assert.ok(md.includes('The teacher was a live model; nothing was replayed.'));
  assert.ok(md.includes(`| HotpotQA | dev | none | ${STUDENT} | student | ReAct |`));
});

test('an experiment with nothing evaluated, fine-tuned or spent still renders every section', () => {
  const input: ReportInput = {
    experiment: 'empty',
    name: 'Nothing yet',
    generatedAt: '2024-01-01T00:00:00.000Z',
    teacher: { name: 'teacher', model: 'gpt-4', replay: false },
    students: [],
    datasets: [],
    curation: { total: 0, kept: 0, drops: {} },
    replaySkipped: {},
    // A row whose metric is missing or not a number is shown as a dash, not as NaN.
    evaluation: [evalRow('base', 'base', 'mmlu', 'cot', 'none', { accuracy: ci(Number.NaN, Number.NaN, Number.NaN) }, Number.NaN, 0, 0)],
    spend: [],
    stageSeconds: {},
  };
  const md = renderMarkdown(input);
  for (const heading of ['Students', 'Results', 'Valid-action rate before and after fine-tuning', 'Dataset composition', 'Curation', 'Spend', 'Time per stage'])
    assert.ok(md.includes(`## ${heading}\n`), heading);
  assert.ok(md.includes('No student was fine-tuned in this experiment.'));
  assert.ok(md.includes('0 of 0 trajectories kept (—)'));
  assert.ok(md.includes('| MMLU | dev | none | base | base | CoT | lenient | 100 | — | — | 0.0% | 0.00 |'));
  assert.ok(!md.includes('NaN'));
  const html = renderHtml(input);
  assert.ok(!html.includes('NaN'));
  assert.match(html, /<svg class="plot" data-task="mmlu"/);
  assert.match(html, /<svg class="plot" data-plot="valid-action"[\s\S]*nothing to plot/);
});

function decodeEntities(text: string): string {
  return text
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function textOf(html: string): string {
  return decodeEntities(html.replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim();
}

function tableCells(dom: string, id: string): { head: string[]; rows: string[][] } {
  const table = new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`).exec(dom);
  assert.ok(table, `table #${id} missing from the DOM`);
  const head = /<thead>([\s\S]*?)<\/thead>/.exec(table[1]);
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table[1]);
  assert.ok(head && body);
  const cells = (tr: string, tag: string) => [...tr.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => textOf(m[1]));
  return {
    head: cells(head[1], 'th'),
    rows: [...body[1].matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => cells(m[1], 'td')),
  };
}

interface SvgRect {
  x: number;
  y: number;
  width: number;
  height: number;
  fill: string;
  series: string;
}

function plots(dom: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of dom.matchAll(/<svg class="plot" (data-task|data-plot)="([^"]+)"[^>]*>([\s\S]*?)<\/svg>/g)) out.set(m[2], m[0]);
  return out;
}

function bars(svg: string): SvgRect[] {
  return [...svg.matchAll(/<rect class="bar"([^>]*)>/g)].map((m) => {
    const attr = (name: string) => {
      const v = new RegExp(` ${name}="([^"]*)"`).exec(m[1]);
      assert.ok(v, `bar without ${name}`);
      return v[1];
    };
    return { x: Number(attr('x')), y: Number(attr('y')), width: Number(attr('width')), height: Number(attr('height')), fill: attr('fill'), series: attr('data-series') };
  });
}

function rgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.replace('#', ''), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function near(a: readonly number[], b: readonly number[], tolerance = 12): boolean {
  return Math.abs(a[0] - b[0]) <= tolerance && Math.abs(a[1] - b[1]) <= tolerance && Math.abs(a[2] - b[2]) <= tolerance;
}

/** Share of the pixels in a box (inset by 2 px, so a half-covered edge row does not count) that match a colour. */
function coverage(img: Image, x: number, y: number, w: number, h: number, colour: [number, number, number]): number {
  let hit = 0;
  let all = 0;
  for (let yy = y + 2; yy < y + h - 2; yy++)
    for (let xx = x + 2; xx < x + w - 2; xx++) {
      if (xx < 0 || yy < 0 || xx >= img.width || yy >= img.height) continue;
      all++;
      if (near(pixel(img, xx, yy), colour)) hit++;
    }
  return all === 0 ? 0 : hit / all;
}

test('html report renders in headless Chromium: results table, one plot per task, valid-action plot, pixels on screen', async () => {
  const dir = await tempDir('report');
  onCleanup(() => fs.rm(dir, { recursive: true, force: true }));
  const input = reportInput();

  // The store writes the three files, each readable back against its hash.
  const store = createArtifactStore(path.join(dir, 'artifacts'));
  const refs = await writeReport(store, 'demo-20240101', input);
  assert.equal(refs.markdown.path, 'demo-20240101/report/report.md');
  assert.equal(refs.html.path, 'demo-20240101/report/report.html');
  assert.equal(refs.summary.path, 'demo-20240101/report/summary.json');
  assert.equal(await store.readRef(refs.markdown), renderMarkdown(input));
  const html = await store.readRef(refs.html);
  assert.equal(html, renderHtml(input));
  const { version, ...summary } = JSON.parse(await store.readRef(refs.summary)) as ReportInput & { version: number };
  assert.equal(version, 2);
  assert.deepEqual(summary, input);

  // Self-contained: nothing to fetch, nothing to run.
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|\bsrc=|\bhref=|@import|url\(/i);
  assert.ok(html.includes('gpt-4 &lt;replay&gt; &amp; co'));

  const setup = await run('bash', [path.join(REPO_ROOT, 'scripts', 'setup-browser.sh')], { timeout: 280_000 });
  const last = setup.stdout.trim().split('\n').at(-1) ?? '';
  if (last.startsWith('skip:')) {
    // jest cannot skip a running test: say why the browser half did not run.
    console.warn(`skipped: no browser: ${last.slice(5).trim()}`);
    return;
  }
  const page = await renderPage(store.resolve(refs.html.path), { outDir: dir, chromium: last });
  if (process.env.FIREACT_KEEP_SCREENSHOT) await fs.copyFile(page.png, process.env.FIREACT_KEEP_SCREENSHOT);
  const dom = page.dom;

  // Escaped text stays text: no element named "replay" or "offline" was created.
  assert.ok(!/<replay|<offline/i.test(dom));
  assert.ok(dom.includes('gpt-4 &lt;replay&gt; &amp; co'));
  assert.ok(dom.includes('class="note note-replay-teacher"'));
  assert.ok(textOf(dom).includes('Teacher: replay of the GPT-4 trajectories released with FireAct — no model was called.'));
  assert.ok(textOf(dom).includes('not a pretrained model; numbers show the pipeline, not the paper’s results'));

  const results = tableCells(dom, 'results');
  assert.deepEqual(results.head, ['Task', 'Split', 'Noise', 'Model', 'Kind', 'Method', 'Scoring', 'n', 'EM %', 'F1 %', 'Accuracy %', 'Valid actions', 'Finished', 'Mean steps']);
  assert.equal(results.rows.length, 13);
  for (const r of results.rows) assert.equal(r.length, 14);
  const studentReact = results.rows.find((r) => r[0] === 'HotpotQA' && r[2] === 'none' && r[3] === STUDENT && r[5] === 'ReAct');
  assert.deepEqual(studentReact, ['HotpotQA', 'dev', 'none', STUDENT, 'student (tiny demo)', 'ReAct', 'lenient', '100', '21.3 [17.0, 26.0]', '30.2 [25.1, 35.3]', '—', '94.7%', '97.0%', '3.88']);
  const teacherSq = results.rows.find((r) => r[0] === 'StrategyQA' && r[3] === 'teacher');
  assert.deepEqual(teacherSq, ['StrategyQA', 'dev', 'none', 'teacher', 'teacher (replay)', 'ReAct', 'lenient', '100', '—', '—', '72.3 [65.0, 79.0]', '99.1%', '100.0%', '2.87']);

  const svgs = plots(dom);
  assert.deepEqual([...svgs.keys()], ['hotpotqa', 'strategyqa', 'valid-action']);
  const hotpot = bars(svgs.get('hotpotqa') ?? '');
  assert.equal(hotpot.length, 8);
  assert.deepEqual(
    hotpot.map((b) => b.series),
    ['none', 'none', 'none', 'empty', 'none', 'none', 'empty', 'random'],
  );
  assert.equal(bars(svgs.get('strategyqa') ?? '').length, 5);
  const va = bars(svgs.get('valid-action') ?? '');
  assert.equal(va.length, 10);
  assert.deepEqual(
    va.map((b) => b.series),
    ['before', 'after', 'before', 'after', 'before', 'after', 'before', 'after', 'before', 'after'],
  );
  for (const svg of svgs.values()) {
    assert.match(svg, /class="axis-label"/);
    assert.match(svg, /class="swatch"/);
    assert.match(svg, /class="group-label"/);
  }
  assert.match(svgs.get('hotpotqa') ?? '', /<g class="ci"/);

  // The screenshot: find the first plot's first bar on screen (the first pixel of its colour: nothing above
  // it is drawn in that colour), then check every bar of the plot where its attributes put it.
  const img = decodePng(await fs.readFile(page.png));
  assert.equal(img.width, 1280);
  assert.equal(img.height, 2000);
  const first = hotpot[0];
  const colour = rgb(first.fill);
  let anchor: [number, number] | undefined;
  search: for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++)
      if (near(pixel(img, x, y), colour)) {
        anchor = [x, y];
        break search;
      }
  assert.ok(anchor, `no pixel of the bar colour ${first.fill} in the screenshot: the plot did not render`);
  const [ox, oy] = [anchor[0] - first.x, anchor[1] - first.y];
  assert.ok(oy > 200, `the first plot starts at y=${oy}, above where the header and tables end`);
  for (const b of hotpot) {
    if (b.width < 6) continue;
    const share = coverage(img, ox + b.x, oy + b.y, b.width, b.height, rgb(b.fill));
    assert.ok(share > 0.9, `bar ${b.series} at (${b.x}, ${b.y}) is ${Math.round(share * 100)}% its colour on screen`);
  }
  // And the space right of the first bar (beyond its whisker and value label) is the page's white, not more bar.
  const afterBar = coverage(img, ox + first.x + first.width + 120, oy + first.y, 60, first.height, [255, 255, 255]);
  assert.ok(afterBar > 0.9);
}, 300_000);

// ---- beside the paper ------------------------------------------------------------------------

const PAPER_SAMPLE: EvalSampleInfo = { task: 'hotpotqa', split: 'dev', order: 'fireact', seed: 233, n: 100 };
const LLAMA: StudentInfo = {
  model: 'llama7@hotpotqa',
  backend: 'local',
  mode: 'lora',
  baseModel: 'meta-llama/Llama-2-7b-chat-hf',
  mix: { name: 'hotpotqa', tasks: ['hotpotqa'], methods: ['react'] },
};
const TINY: StudentInfo = { ...LLAMA, model: STUDENT, mode: 'full', baseModel: 'init', mix: { name: 'multitask-multimethod', tasks: ['hotpotqa', 'strategyqa', 'mmlu'], methods: ['react', 'cot', 'reflexion'] } };

test('the paper figures are our transcription of paper-results.md, with their table', async () => {
  // Read, not optional: without the data's paper-results.md there is nothing to hold the transcription to.
  const md = await fs.readFile(path.join(DATA_DIR, 'paper-results.md'), 'utf8');
  assert.deepEqual(
    PAPER_RESULTS.map((r) => [r.student.label, r.metrics.em, r.metrics.f1, `${r.finished.count} / ${r.finished.of}`]),
    [
      ['Llama-2-7B, LoRA', 26.2, 38.0, '500 / 500'],
      ['Llama-2-13B, LoRA', 34.4, 47.9, '499 / 500'],
      ['GPT-3.5-turbo-0613, OpenAI fine-tuning', 40.0, 54.2, '465 / 500'],
    ],
  );
  for (const r of PAPER_RESULTS) {
    assert.match(r.table, /paper-results\.md/);
    assert.ok(md.includes(`| ${r.metrics.em.toFixed(1)} | ${r.metrics.f1.toFixed(1)} | ${r.finished.count} / ${r.finished.of} |`), r.student.label);
  }
});

test('demo-like experiment: the paper column shows the paper’s students beside ours, nothing shared where the student differs', () => {
  const input = reportInput();
  input.paper = comparePaper({ rows: input.evaluation, samples: [PAPER_SAMPLE, { ...PAPER_SAMPLE, task: 'strategyqa' }], students: [TINY], teacher: 'gpt-4' });
  const md = renderMarkdown(input);
  const rows = markdownTableRows(md, 'Beside the paper');
  assert.deepEqual(rows, [
    '| Llama-2-7B, LoRA (paper) | teacher GPT-4: hotpotqa × react (500 trajectories) | not run | 26.2 | not run | 38.0 | not run | 100.0% | not run | 500 | not run | fireact |',
    '| Llama-2-13B, LoRA (paper) | teacher GPT-4: hotpotqa × react (500 trajectories) | not run | 34.4 | not run | 47.9 | not run | 99.8% | not run | 500 | not run | fireact |',
    '| GPT-3.5-turbo-0613, OpenAI fine-tuning (paper) | teacher GPT-4: hotpotqa × react (500 trajectories) | not run | 40.0 | not run | 54.2 | not run | 93.0% | not run | 500 | not run | fireact |',
    '| teacher (teacher) | none (prompted) | 45.2 [40.0, 50.0] | — | 57.1 [52.0, 62.0] | — | 100.0% | — | 100 | — | lenient | — |',
    '| base (base) | none (base model) | 12.4 [9.0, 16.0] | — | 20.1 [16.0, 24.0] | — | 74.0% | — | 100 | — | lenient | — |',
    `| ${STUDENT} (student, tiny demo) | teacher gpt-4: hotpotqa+strategyqa+mmlu × react+cot+reflexion (mix multitask-multimethod) | 21.3 [17.0, 26.0] | — | 30.2 [25.1, 35.3] | — | 97.0% | — | 100 | — | lenient | — |`,
  ]);
  assert.ok(md.includes('| Model | Fine-tuned on | EM % ours | EM % paper | F1 % ours | F1 % paper | Finished ours | Finished paper | n ours | n paper | Scoring ours | Scoring paper |'));
  assert.ok(md.includes('HotpotQA dev, ReAct, no tool noise: ours on the first 100 of the paper’s 500 questions (FireAct’s order, seed 233).'));
  assert.ok(md.includes('fine-tuning Llama-2-7B on 500 GPT-4 agent trajectories raises its HotpotQA performance by 77% over prompting it'));
  // Only HotpotQA ReAct has published figures here: no StrategyQA or CoT line is invented.
  assert.ok(!rows.some((l) => l.includes('CoT') || l.includes('59.8')));
  // The glance table names the scoring rule of each column.
  assert.ok(md.includes('| Model | Method | HotpotQA EM (lenient) | StrategyQA Accuracy (lenient) |'), md);

  // The HTML report carries the same table, and its plots name the rule too.
  assert.ok(renderHtml(input).includes('HotpotQA: EM by model and method (mean, 95% CI; scoring lenient)'));
  const html = tableCells(renderHtml(input), 'paper-table-0');
  assert.deepEqual(html.head.slice(0, 4), ['Model', 'Fine-tuned on', 'EM % ours', 'EM % paper']);
  assert.equal(html.rows.length, 6);
  assert.deepEqual(html.rows[0].slice(0, 4), ['Llama-2-7B, LoRA (paper)', 'teacher GPT-4: hotpotqa × react (500 trajectories)', 'not run', '26.2']);
});

test('a reproduction of a paper student shares its line with the paper’s figure; other questions get no paper column', () => {
  const input = reportInput();
  const llamaRow = { ...input.evaluation[0], model: LLAMA.model, scoring: 'fireact' as const, n: 500 };
  input.students.push({ name: LLAMA.model, backend: 'local', baseModel: LLAMA.baseModel, dataset: 'hotpotqa', tinyDemoModel: false, fineTunedModel: 'm' });
  input.evaluation.push(llamaRow);
  input.paper = comparePaper({ rows: input.evaluation, samples: [{ ...PAPER_SAMPLE, n: 500 }], students: [TINY, LLAMA], teacher: 'gpt-4' });
  const rows = markdownTableRows(renderMarkdown(input), 'Beside the paper');
  assert.equal(
    rows[0],
    '| llama7@hotpotqa · paper: Llama-2-7B, LoRA | teacher gpt-4: hotpotqa × react (mix hotpotqa) | 21.3 [17.0, 26.0] | 26.2 | 30.2 [25.1, 35.3] | 38.0 | 97.0% | 100.0% | 500 | 500 | fireact | fireact |',
  );
  assert.ok(rows[1].startsWith('| Llama-2-13B, LoRA (paper) |'));
  // A LoRA student on another base, or trained on another mix, is not the paper's.
  const other = comparePaper({ rows: [llamaRow], samples: [{ ...PAPER_SAMPLE, n: 500 }], students: [{ ...LLAMA, mix: { ...LLAMA.mix, methods: ['react', 'cot'] } }], teacher: 'gpt-4' });
  assert.equal(other.settings[0].lines.filter((l) => l.paper && l.ours).length, 0);

  // Questions in another order, or more than the paper's 500: no paper figures, and the report says why.
  for (const sample of [{ ...PAPER_SAMPLE, order: 'seeded' as const }, { ...PAPER_SAMPLE, n: 1000 }]) {
    const input2 = reportInput();
    input2.paper = comparePaper({ rows: input2.evaluation, samples: [sample], students: [TINY], teacher: 'gpt-4' });
    const md = renderMarkdown(input2);
    assert.deepEqual(markdownTableRows(md, 'Beside the paper'), []);
    assert.ok(md.includes('No evaluation of this experiment ran a setting of the paper’s published figures'));
    assert.match(md, /hotpotqa dev react: evaluated on other questions than the paper’s \(.*\), so its figures are not shown beside ours\./);
  }
});
