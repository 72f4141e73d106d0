// Every id and artifact path that names a question names its split; experiment ids map to folders
// one to one or are refused with the allowed form; printed paths survive a POSIX shell.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from '@jest/globals';
import { evalRunName } from '../../core/eval-plan';
import { EXPERIMENT_ID_FORM, experimentDir, experimentIdProblem, shardName, shardWorkflowId } from '../../core/ids';
import { trajectoryId, type Question } from '../../core/trajectory';
import { layout } from '../../lib/experiment/layout';
import { shellQuote } from '../../scripts/cli/shell';

const question = (split: string, id = '3'): Question => ({ task: 'hotpotqa', split, id, text: `q ${split} ${id}`, answers: [] });

test('the same row of two splits gets two trajectory ids, files, shards and evaluation runs', () => {
  const dev = question('dev');
  const testQ = question('test');
  assert.equal(trajectoryId(dev, 'react'), 'hotpotqa/dev/react/3');
  assert.equal(trajectoryId(testQ, 'react'), 'hotpotqa/test/react/3');
  assert.equal(layout.trajectory('e1', dev, 'react'), 'e1/trajectories/hotpotqa/dev/react/3.json');
  assert.equal(layout.trajectory('e1', testQ, 'react'), 'e1/trajectories/hotpotqa/test/react/3.json');
  // The previous release's path left the split out: both questions mapped to one file.
  assert.equal(layout.legacyTrajectory('e1', dev, 'react'), layout.legacyTrajectory('e1', testQ, 'react'));

  assert.equal(shardName('hotpotqa', 'dev', 'react', 0), 'hotpotqa-dev-react-0');
  assert.notEqual(shardWorkflowId('e1', 'hotpotqa', 'dev', 'react', 0), shardWorkflowId('e1', 'hotpotqa', 'test', 'react', 0));
  assert.equal(shardWorkflowId('e1', 'hotpotqa', 'fireact-react', 'react', 2), 'e1/generate/hotpotqa-fireact-react-react-2');
  // Histories recorded before the patch keep the old id.
  assert.equal(shardWorkflowId('e1', 'hotpotqa', undefined, 'react', 2), 'e1/generate/hotpotqa-react-2');

  assert.notEqual(layout.sample('e1', 'hotpotqa', 'dev'), layout.sample('e1', 'hotpotqa', 'test'));
  assert.notEqual(layout.evalSample('e1', 'hotpotqa', 'dev'), layout.evalSample('e1', 'hotpotqa', 'test'));
  assert.notEqual(layout.evalRun('e1', 'm', 'hotpotqa', 'dev', 'react', 'none'), layout.evalRun('e1', 'm', 'hotpotqa', 'test', 'react', 'none'));
  const target = { name: 'm', method: 'react' as const };
  assert.notEqual(evalRunName(target, 'hotpotqa', 'none', 'dev'), evalRunName(target, 'hotpotqa', 'none', 'test'));

  // MMLU question ids hold a "/": still one file per question, inside its split's folder.
  assert.equal(layout.trajectory('e1', { task: 'mmlu', split: 'test', id: 'anatomy/7' }, 'cot'), 'e1/trajectories/mmlu/test/cot/anatomy_7.json');
});

test('allowed experiment ids are their own folder; others are refused naming the id and the form', () => {
  for (const ok of ['run1', 'my_run_1', 'my-run-1', 'FireAct.v2', 'a', 'x'.repeat(100), 'demo-20260101-120000']) {
    assert.equal(experimentIdProblem(ok), undefined, ok);
    assert.equal(experimentDir(ok), ok, 'an allowed id is its own folder name');
  }
  const form = `an experiment id is ${EXPERIMENT_ID_FORM}`;
  assert.equal(EXPERIMENT_ID_FORM, '1 to 100 characters: letters, digits, ".", "_" and "-", starting with a letter or digit');
  assert.equal(experimentIdProblem('my run 1'), `experiment id "my run 1" is not allowed (it contains " "); ${form}`);
  assert.equal(experimentIdProblem('team/alice/run1'), `experiment id "team/alice/run1" is not allowed (it contains "/"); ${form}`);
  assert.equal(experimentIdProblem('x'.repeat(300)), `experiment id "${'x'.repeat(60)}…" is not allowed (it is 300 characters long); ${form}`);
  assert.equal(experimentIdProblem(''), `experiment id "" is not allowed (it is empty); ${form}`);
  assert.equal(experimentIdProblem('..'), `experiment id ".." is not allowed (it starts with "."); ${form}`);
  assert.equal(experimentIdProblem('-rf'), `experiment id "-rf" is not allowed (it starts with "-"); ${form}`);
  assert.equal(experimentIdProblem("it's/é"), `experiment id "it's/é" is not allowed (it contains "'", "/", "é"); ${form}`);
  // The ids the old folder mapping merged are now one allowed id and one refused id.
  assert.equal(experimentDir('my run 1'), experimentDir('my_run_1'));
  assert.ok(experimentIdProblem('my run 1') && !experimentIdProblem('my_run_1'));
});

test('printed paths and commands are one shell word each', () => {
  assert.equal(shellQuote('/data/runs/e1/report/report.md'), '/data/runs/e1/report/report.md');
  assert.equal(shellQuote('/data/my runs/e1'), "'/data/my runs/e1'");
  assert.equal(shellQuote("/data/bob's runs/$HOME"), `'/data/bob'\\''s runs/$HOME'`);
  for (const s of ['/data/my runs/e1', "/data/bob's runs/$HOME; rm -rf x", 'a"b\\c`d`', '']) {
    // What a POSIX shell makes of the quoted word is the original string, as one argument.
    const out = execFileSync('sh', ['-c', `printf '%s\\0' ${shellQuote(s)}`]).toString();
    assert.equal(out, `${s}\0`, s);
  }
});
