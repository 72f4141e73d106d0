import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from '@jest/globals';
import { METHOD_NAMES, type MethodName } from '../../core/methods';
import { TASK_NAMES } from '../../core/names';
import type { Question } from '../../core/trajectory';
import { cleanOutput, parseAction } from '../../lib/agent/actions';
import { runEpisode, type EpisodeInput, type EpisodeOptions, type Scorer } from '../../lib/agent/episode';
import { REFLECTION_EXAMPLES, WORKED_EXAMPLES } from '../../lib/agent/exemplars';
import {
  exemplars,
  forcedFinishInstruction,
  promptMessages,
  reflectionHeader,
  studentMessages,
  systemPrompt,
  taskFamily,
} from '../../lib/agent/prompts';
import type { ChatModel, ChatRequest, ChatResponse } from '../../lib/models/types';
import type { SearchBackend, SearchRequest } from '../../lib/tools/types';

import { DATA_DIR } from '../../scripts/support/paths';

// ---- test doubles: a scripted chat model and a map-backed search -------------------------------------------

type Scripted = string | (Partial<ChatResponse> & { content: string });

interface ScriptedModel extends ChatModel {
  requests: ChatRequest[];
}

function scriptedModel(script: Scripted[]): ScriptedModel {
  const requests: ChatRequest[] = [];
  return {
    name: 'teacher',
    provider: 'scripted',
    model: 'scripted-1',
    requests,
    async complete(request) {
      // Deep copy: the loop must not rely on mutating what it already sent.
      requests.push(structuredClone(request));
      const next = script[requests.length - 1];
      if (next === undefined) throw new Error(`script exhausted at call ${requests.length}`);
      const r = typeof next === 'string' ? { content: next } : next;
      return { promptTokens: 10, completionTokens: 5, cached: false, ...r };
    },
  };
}

interface MapSearch extends SearchBackend {
  requests: SearchRequest[];
}

function mapSearch(entries: Record<string, string>): MapSearch {
  const requests: SearchRequest[] = [];
  return {
    name: 'map',
    requests,
    async search(request) {
      requests.push(request);
      if (request.query === 'boom') throw new Error('backend down');
      const observation = entries[request.query];
      return { observation: observation ?? `No results found for "${request.query}".`, backend: 'map', cached: request.query.startsWith('cached') };
    },
  };
}

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9 ]/g, '').trim();
const exactMatch: Scorer = (prediction, answers) => {
  const em = prediction !== null && answers.some((a) => norm(a) === norm(prediction)) ? 1 : 0;
  return { score: em, metrics: { em } };
};

function question(over: Partial<Question> = {}): Question {
  return { task: 'hotpotqa', split: 'dev', id: '7', text: 'Who founded the company that makes the iPhone?', answers: ['Steve Jobs'], ...over };
}

const OPTIONS: EpisodeOptions = { maxSteps: 6, maxMalformedRetries: 2, reflexion: { maxTrials: 2, stepsPerTrial: 2 }, fewShot: 2 };

function episode(over: Partial<EpisodeInput> & Pick<EpisodeInput, 'model'>) {
  return runEpisode({ question: question(), method: 'react', score: exactMatch, options: OPTIONS, ...over });
}

const lastUserText = (r: ChatRequest) => r.messages[r.messages.length - 1].content;

// ---- parsing ------------------------------------------------------------------------------------------------

void describe('parseAction', () => {
  void it('reads a thought and a search or finish action', () => {
    assert.deepEqual(parseAction('Thought: I need to search X.\nAction: search[X]'), { thought: 'I need to search X.', action: { type: 'search', arg: 'X' } });
    assert.deepEqual(parseAction('Action: finish[1929]'), { action: { type: 'finish', arg: '1929' } });
  });

  void it('accepts any case of the action name and a numbered Action label', () => {
    assert.deepEqual(parseAction('Thought: done\nAction: Finish[yes]')?.action, { type: 'finish', arg: 'yes' });
    assert.deepEqual(parseAction('action: FINISH[B]')?.action, { type: 'finish', arg: 'B' });
    assert.deepEqual(parseAction('Thought 2: hm\nAction 2: search[Kura River]')?.action, { type: 'search', arg: 'Kura River' });
  });

  void it('keeps brackets inside an answer by closing at the last ] of the line', () => {
    assert.equal(parseAction('Action: finish[The [1] answer]')?.action.arg, 'The [1] answer');
    assert.equal(parseAction('Action: search[a], search[b]')?.action.arg, 'a], search[b');
  });

  void it('ignores trailing text after the action', () => {
    assert.equal(parseAction('Thought: sure.\nAction: finish[yes] because it is obvious')?.action.arg, 'yes');
    assert.equal(parseAction('Action: finish[Paris]\n(I am confident [90%])')?.action.arg, 'Paris');
  });

  void it('takes the last action whose bracket closes', () => {
    assert.equal(parseAction('Action: search[a]\nThought: no, better\nAction: finish[b]')?.action.type, 'finish');
    assert.equal(parseAction('Action: search[first]\nAction: finish[never closed')?.action.arg, 'first');
    const recorded = 'Thought: ...wrap up. Action: finish[Unable to find the answer]\nAction: finish[Unable to find the answer]';
    assert.equal(parseAction(recorded)?.action.arg, 'Unable to find the answer');
  });

  void it('reads a multi-line answer when its line has no closing bracket', () => {
    assert.equal(parseAction('Action: finish[line one\nline two]')?.action.arg, 'line one\nline two');
  });

  void it('rejects text without a usable action', () => {
    assert.equal(parseAction('I think the answer is Paris.'), null);
    assert.equal(parseAction('Action: lookup[Paris]'), null);
    assert.equal(parseAction('Action: finish[]'), null);
    assert.equal(parseAction('Action: finish[Paris'), null);
    assert.equal(parseAction(''), null);
  });
});

void describe('cleanOutput', () => {
  void it('cuts a hallucinated observation and trailing whitespace only', () => {
    assert.equal(cleanOutput('Thought: a\nAction: search[x]\nObservation: made up\nThought: b'), 'Thought: a\nAction: search[x]');
    assert.equal(cleanOutput('  Thought: a\nAction: finish[x]  \n\n'), '  Thought: a\nAction: finish[x]');
  });

  void it('leaves recorded teacher turns byte-identical', () => {
    const turns = [
      'Thought: I need to search X.\nAction: search[X]',
      "Thought: Now that I haven't solved the task within 5 steps, let me do a reflection and think about how to improve my strategy. Thought: I should search Y.\nAction: search[Y]",
      'Thought: Grassmann was born in 1809 and ... so the answer is 1929. \nAction: finish[1929]',
    ];
    for (const t of turns) assert.equal(cleanOutput(t), t);
  });

  void it('keeps every recorded assistant turn in the FireAct data unchanged, and nearly all parse', () => {
    const lines = readFileSync(path.join(DATA_DIR, 'finetune/gpt_format/multitask_multimethod.jsonl'), 'utf8').split('\n').filter(Boolean);
    let turns = 0;
    let unparsable = 0;
    for (const line of lines) {
      for (const m of (JSON.parse(line) as { messages: { role: string; content: string }[] }).messages) {
        if (m.role !== 'assistant') continue;
        turns += 1;
        assert.equal(cleanOutput(m.content), m.content);
        if (!parseAction(m.content)) unparsable += 1;
      }
    }
    assert.ok(turns > 4000, `read ${turns} turns`);
    // The data holds a handful of turns with no action (an assistant "Observation: ..." line and the like).
    assert.ok(unparsable <= 10, `${unparsable} unparsable turns`);
  });
});

// ---- prompts ------------------------------------------------------------------------------------------------

void describe('prompts', () => {
  const exampleCount = (s: string) => (s.match(/^Example \d+:$/gm) ?? []).length;

  void it('has at least 4 worked examples per task family, each consistent with its answer', () => {
    for (const [family, list] of Object.entries(WORKED_EXAMPLES)) {
      assert.ok(list.length >= 4, family);
      for (const ex of list) {
        const last = ex.steps[ex.steps.length - 1];
        assert.deepEqual(last.action, { type: 'finish', arg: ex.answer }, ex.question);
        for (const s of ex.steps.slice(0, -1)) {
          assert.equal(s.action.type, 'search');
          assert.ok(s.observation, ex.question);
        }
        if (family === 'choice') assert.match(ex.question, /^Question: .*\nA\. .*\nB\. .*\nC\. .*\nD\. /s);
        if (family === 'yesno') assert.ok(ex.answer === 'yes' || ex.answer === 'no');
      }
    }
    for (const r of Object.values(REFLECTION_EXAMPLES)) assert.equal(r.failed[r.failed.length - 1].action.type, 'finish');
  });

  void it('gives every method and task instructions and the requested number of examples', () => {
    for (const method of METHOD_NAMES) {
      for (const task of TASK_NAMES) {
        const two = systemPrompt(method, task, 2);
        assert.equal(exampleCount(two), 2, `${method}/${task}`);
        assert.ok(exampleCount(systemPrompt(method, task, 8)) >= 4, `${method}/${task}`);
        const none = systemPrompt(method, task, 0);
        assert.equal(exampleCount(none), 0);
        assert.doesNotMatch(none, /Example|Observation: /);
        assert.match(none, /finish\[answer\]/);
        // Every example's assistant lines parse as actions.
        for (const ex of exemplars(method, task, 8)) {
          const actionLines = ex.split('\n').filter((l) => l.startsWith('Action'));
          assert.ok(actionLines.length >= 1);
          for (const l of actionLines) assert.ok(parseAction(l), l);
        }
      }
    }
  });

  void it('shapes examples per method', () => {
    const io = exemplars('io', 'hotpotqa', 4);
    assert.ok(io.every((e) => !e.includes('Thought:') && /\nAction: finish\[[^\]]+\]$/.test(e)));
    const cot = exemplars('cot', 'strategyqa', 4);
    assert.ok(cot.every((e) => /\nThought: .+\nAction: finish\[(yes|no)\]$/.test(e) && !e.includes('search[')));
    const react = exemplars('react', 'bamboogle', 4);
    assert.ok(react.every((e) => e.includes('Action: search[') && e.includes('\nObservation: ')));
    const reflexion = exemplars('reflexion', 'mmlu', 3);
    assert.ok(reflexion[0].includes(reflectionHeader(1) + 'Thought: '));
    assert.ok(reflexion[0].includes('Observation: Answer is incorrect.'));
    assert.match(exemplars('react', 'mmlu', 1)[0], /^Question: .*\nA\. /s);
    assert.equal(taskFamily('bamboogle'), 'multihop');
  });

  void it('builds the student conversation with no system prompt and the prompted one with it', () => {
    const q = question();
    const turns = [
      { role: 'assistant' as const, content: 'Thought: t\nAction: search[Apple]' },
      { role: 'observation' as const, content: 'Apple was founded by Steve Jobs.' },
    ];
    assert.deepEqual(studentMessages(q, turns), [
      { role: 'user', content: q.text },
      { role: 'assistant', content: 'Thought: t\nAction: search[Apple]' },
      { role: 'user', content: 'Observation: Apple was founded by Steve Jobs.' },
    ]);
    const prompted = promptMessages('react', q, turns, 3);
    assert.equal(prompted[0].role, 'system');
    assert.equal(prompted[0].content, systemPrompt('react', 'hotpotqa', 3));
    assert.deepEqual(prompted.slice(1), studentMessages(q, turns));
  });
});

// ---- episodes -----------------------------------------------------------------------------------------------

void describe('runEpisode', () => {
  void it('runs ReAct: two searches, then a finish scored against the gold answer', async () => {
    const model = scriptedModel([
      { content: 'Thought: Which company makes the iPhone?\nAction: search[iPhone maker]', cached: true },
      'Thought: Apple. Who founded Apple?\nAction: search[Apple founder]\nObservation: Steve Wozniak alone',
      { content: 'Thought: Steve Jobs founded Apple.\nAction: finish[Steve Jobs]', promptTokens: 100, completionTokens: 7 },
    ]);
    const search = mapSearch({ 'iPhone maker': 'The iPhone is made by Apple Inc.', 'Apple founder': 'Apple was founded by Steve Jobs, Steve Wozniak and Ronald Wayne.' });
    const steps: number[] = [];
    const r = await episode({ model, search, onStep: (s) => steps.push(s) });

    assert.equal(r.finished, true);
    assert.equal(r.prediction, 'Steve Jobs');
    assert.equal(r.reward, 1);
    assert.deepEqual(r.metrics, { em: 1 });
    assert.equal(r.steps, 3);
    assert.equal(r.trials, 1);
    assert.equal(r.malformed, 0);
    assert.equal(r.forcedFinish, false);
    assert.deepEqual(r.usage, { calls: 3, promptTokens: 120, completionTokens: 17, cachedCalls: 1 });
    assert.deepEqual(steps, [0, 1, 2]);
    assert.deepEqual(
      r.turns.map((t) => [t.role, t.content]),
      [
        ['assistant', 'Thought: Which company makes the iPhone?\nAction: search[iPhone maker]'],
        ['observation', 'The iPhone is made by Apple Inc.'],
        ['assistant', 'Thought: Apple. Who founded Apple?\nAction: search[Apple founder]'],
        ['observation', 'Apple was founded by Steve Jobs, Steve Wozniak and Ronald Wayne.'],
        ['assistant', 'Thought: Steve Jobs founded Apple.\nAction: finish[Steve Jobs]'],
        ['observation', 'Episode finished, reward = 1'],
      ],
    );
    assert.deepEqual(r.turns[0], {
      role: 'assistant',
      content: 'Thought: Which company makes the iPhone?\nAction: search[iPhone maker]',
      usage: { promptTokens: 10, completionTokens: 5, cached: true },
    });
    assert.deepEqual(r.turns[1], {
      role: 'observation',
      content: 'The iPhone is made by Apple Inc.',
      tool: { name: 'search', query: 'iPhone maker', backend: 'map', cached: false },
    });
    assert.deepEqual(search.requests[0], { query: 'iPhone maker', context: { task: 'hotpotqa', questionText: question().text, method: 'react' } });

    // Each request carries the context replay needs and the conversation in fine-tuning shape.
    model.requests.forEach((req, i) => {
      assert.deepEqual(req.stop, ['\nObservation']);
      assert.equal(req.context?.turn, i);
      assert.deepEqual(req.context?.previousTurns, r.turns.filter((t) => t.role === 'assistant').slice(0, i).map((t) => t.content));
      assert.equal(req.context?.questionId, '7');
      assert.equal(req.context?.method, 'react');
    });
    const third = model.requests[2].messages;
    assert.equal(third[0].role, 'system');
    assert.deepEqual(third.slice(1), studentMessages(question(), r.turns.slice(0, 4)));
  });

  void it('uses the recorded observation as the terminal observation when the model gives one', async () => {
    const model = scriptedModel([{ content: 'Thought: I know it.\nAction: finish[Steve Jobs]', recordedObservation: 'Episode finished, reward = True' }]);
    const r = await episode({ model, search: mapSearch({}) });
    assert.equal(r.turns[1].content, 'Episode finished, reward = True');
    assert.equal(r.reward, 1);
  });

  void it('re-asks after a malformed reply without storing it or the nudge', async () => {
    const model = scriptedModel(['The answer is surely Steve Jobs.', 'Thought: Right format.\nAction: finish[Steve Jobs]']);
    const r = await episode({ model, search: mapSearch({}) });
    assert.equal(r.malformed, 1);
    assert.equal(r.forcedFinish, false);
    assert.equal(r.usage.calls, 2);
    assert.deepEqual(r.turns.map((t) => t.content), ['Thought: Right format.\nAction: finish[Steve Jobs]', 'Episode finished, reward = 1']);
    const retry = model.requests[1];
    assert.equal(retry.context?.turn, 0);
    assert.deepEqual(retry.context?.previousTurns, []);
    assert.deepEqual(retry.messages[retry.messages.length - 2], { role: 'assistant', content: 'The answer is surely Steve Jobs.' });
    assert.match(lastUserText(retry), /no valid Action/);
    assert.ok(!r.turns.some((t) => t.content.includes('no valid Action')));
  });

  void it('forces a finish once the re-asks run out, and ends unfinished if even that fails', async () => {
    const options = { ...OPTIONS, maxMalformedRetries: 1 };
    const recovered = await episode({
      model: scriptedModel(['no action', 'still none', 'Thought: best guess.\nAction: finish[Tim Cook]']),
      search: mapSearch({}),
      options,
    });
    assert.equal(recovered.malformed, 2);
    assert.equal(recovered.forcedFinish, true);
    assert.equal(recovered.finished, true);
    assert.equal(recovered.prediction, 'Tim Cook');
    assert.equal(recovered.reward, 0);
    assert.equal(recovered.turns[1].content, 'Episode finished, reward = 0');

    const model = scriptedModel(['no action', 'still none', 'Thought: one more search\nAction: search[x]']);
    const gaveUp = await episode({ model, search: mapSearch({}), options });
    assert.ok(lastUserText(model.requests[2]).includes(forcedFinishInstruction()));
    assert.equal(gaveUp.finished, false);
    assert.equal(gaveUp.forcedFinish, true);
    assert.equal(gaveUp.malformed, 3);
    assert.equal(gaveUp.prediction, null);
    assert.equal(gaveUp.reward, 0);
    assert.deepEqual(gaveUp.metrics, { em: 0 });
    assert.deepEqual(gaveUp.turns, []);
    assert.equal(gaveUp.steps, 0);
  });

  void it('asks for a forced finish at the step cap', async () => {
    const options = { ...OPTIONS, maxSteps: 2 };
    const search = mapSearch({ a: 'A.', b: 'B.' });
    const model = scriptedModel(['Action: search[a]', 'Action: search[b]', 'Thought: out of steps.\nAction: finish[Steve Jobs]']);
    const r = await episode({ model, search, options });
    assert.equal(r.forcedFinish, true);
    assert.equal(r.finished, true);
    assert.equal(r.steps, 3);
    assert.equal(r.reward, 1);
    assert.ok(!lastUserText(model.requests[1]).includes(forcedFinishInstruction()));
    assert.equal(lastUserText(model.requests[2]), `Observation: B.\n\n${forcedFinishInstruction()}`);

    // At the cap only a finish is accepted; a further search ends the episode unfinished.
    const r2 = await episode({ model: scriptedModel(['Action: search[a]', 'Action: search[b]', 'Action: search[c]']), search, options });
    assert.equal(r2.finished, false);
    assert.equal(r2.steps, 2);
    assert.equal(r2.turns.length, 4);
    assert.equal(r2.malformed, 1);
    assert.equal(r2.reward, 0);
    assert.equal(r2.prediction, null);
  });

  void it('scores nothing when the question has no gold answer', async () => {
    const noGold = question({ answers: [], split: 'test' });
    const finishedRun = await episode({ question: noGold, model: scriptedModel(['Action: finish[Steve Jobs]']), search: mapSearch({}) });
    assert.equal(finishedRun.reward, null);
    assert.deepEqual(finishedRun.metrics, {});
    assert.equal(finishedRun.turns[1].content, 'Episode finished, reward = unknown');
    const unfinished = await episode({
      question: noGold,
      model: scriptedModel(['x', 'y', 'z', 'w']),
      search: mapSearch({}),
    });
    assert.equal(unfinished.finished, false);
    assert.equal(unfinished.reward, null);
    assert.equal(unfinished.usage.calls, 4);
  });

  void it('runs io and cot as one finishing turn, without stop sequences', async () => {
    for (const method of ['io', 'cot'] as MethodName[]) {
      const content = method === 'io' ? 'Action: finish[Steve Jobs]' : 'Thought: Apple makes the iPhone; Steve Jobs co-founded it.\nAction: finish[Steve Jobs]';
      const model = scriptedModel([content]);
      const r = await episode({ model, method, search: mapSearch({}) });
      assert.equal(r.steps, 1);
      assert.equal(r.reward, 1);
      assert.deepEqual(r.turns.map((t) => t.content), [content, 'Episode finished, reward = 1']);
      assert.equal(model.requests[0].stop, undefined);
      assert.match(model.requests[0].messages[0].content, /Example 2:/);
    }
    // A search in a single-turn method counts as malformed.
    const search = mapSearch({});
    const r = await episode({ method: 'cot', model: scriptedModel(['Thought: let me look\nAction: search[Apple]', 'Thought: ok\nAction: finish[Steve Jobs]']), search });
    assert.equal(r.malformed, 1);
    assert.equal(r.steps, 1);
    assert.equal(search.requests.length, 0);
  });

  void it('turns a search failure into an observation and goes on', async () => {
    const r = await episode({ model: scriptedModel(['Action: search[boom]', 'Action: finish[Steve Jobs]']), search: mapSearch({}) });
    assert.deepEqual(r.turns[1], {
      role: 'observation',
      content: 'Search failed: backend down',
      tool: { name: 'search', query: 'boom', backend: 'map', cached: false, error: 'backend down' },
    });
    assert.equal(r.finished, true);
  });

  void it('says search is unavailable when the task has no search tool', async () => {
    const r = await episode({ model: scriptedModel(['Action: search[x]', 'Action: finish[Steve Jobs]']) });
    assert.match(r.turns[1].content, /not available/);
    assert.equal(r.turns[1].role === 'observation' && r.turns[1].tool, undefined);
  });

  void it('Reflexion: a trial that runs out of steps is followed by a reflection with the header prepended', async () => {
    const search = mapSearch({});
    const model = scriptedModel([
      'Thought: t1\nAction: search[a]',
      'Thought: t2\nAction: search[b]',
      'Thought: I searched too broadly.\nAction: search[c]',
      'Thought: done\nAction: finish[Steve Jobs]',
    ]);
    const r = await episode({ method: 'reflexion', model, search });
    assert.equal(r.trials, 2);
    assert.equal(r.steps, 4);
    assert.equal(r.reward, 1);
    assert.equal(r.turns[4].content, `${reflectionHeader(2)}Thought: I searched too broadly.\nAction: search[c]`);
    assert.equal(
      r.turns[4].content,
      "Thought: Now that I haven't solved the task within 2 steps, let me do a reflection and think about how to improve my strategy. Thought: I searched too broadly.\nAction: search[c]",
    );
    assert.match(lastUserText(model.requests[2]), /not solved the task within 2 steps\. Reflect/);
    assert.doesNotMatch(lastUserText(model.requests[3]), /Reflect/);
    assert.deepEqual(model.requests[3].context?.previousTurns[2], r.turns[4].content);
  });

  void it('Reflexion: a replayed reflection that already has the header is stored unchanged', async () => {
    const recorded =
      "Thought: Now that I haven't solved the task within 5 steps, let me do a reflection and think about how to improve my strategy. Thought: new plan.\nAction: finish[Steve Jobs]";
    const r = await episode({ method: 'reflexion', model: scriptedModel(['Action: search[a]', 'Action: search[b]', recorded]), search: mapSearch({}) });
    assert.equal(r.turns[4].content, recorded);
    assert.equal(r.reward, 1);
  });

  void it('Reflexion: a wrong answer with trials left is "Answer is incorrect." and a new trial starts', async () => {
    const model = scriptedModel(['Thought: guess\nAction: finish[Tim Cook]', 'Thought: I should check.\nAction: finish[Steve Jobs]']);
    const r = await episode({ method: 'reflexion', model, search: mapSearch({}) });
    assert.deepEqual(r.turns.map((t) => t.content), [
      'Thought: guess\nAction: finish[Tim Cook]',
      'Answer is incorrect.',
      `${reflectionHeader(1)}Thought: I should check.\nAction: finish[Steve Jobs]`,
      'Episode finished, reward = 1',
    ]);
    assert.equal(r.trials, 2);
    assert.equal(r.prediction, 'Steve Jobs');
    assert.match(lastUserText(model.requests[1]), /^Observation: Answer is incorrect\.\n\nYour answer was incorrect\. Reflect/);

    // The last trial's wrong finish is terminal.
    const last = await episode({ method: 'reflexion', model: scriptedModel(['Action: finish[Tim Cook]', 'Action: finish[Wozniak]']), search: mapSearch({}) });
    assert.equal(last.finished, true);
    assert.equal(last.reward, 0);
    assert.equal(last.prediction, 'Wozniak');
    assert.equal(last.turns[3].content, 'Episode finished, reward = 0');
  });

  void it('Reflexion: the step cap is maxTrials x stepsPerTrial, then a forced finish', async () => {
    const model = scriptedModel(['Action: search[a]', 'Action: search[b]', 'Action: search[c]', 'Action: search[d]', 'Thought: must answer\nAction: finish[Steve Jobs]']);
    const r = await episode({ method: 'reflexion', model, search: mapSearch({}), options: { ...OPTIONS, maxSteps: 1 } });
    assert.equal(r.steps, 5);
    assert.equal(r.trials, 2);
    assert.equal(r.forcedFinish, true);
    assert.equal(r.reward, 1);
    assert.ok(lastUserText(model.requests[4]).endsWith(forcedFinishInstruction()));
  });

  void it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    const model = scriptedModel(['Action: search[a]', 'Action: finish[x]']);
    const search: SearchBackend = {
      name: 'aborting',
      async search() {
        controller.abort(new Error('cancelled'));
        throw new Error('aborted mid-search');
      },
    };
    await assert.rejects(episode({ model, search, signal: controller.signal }), /aborted mid-search/);
    assert.equal(model.requests.length, 1);
  });
});
