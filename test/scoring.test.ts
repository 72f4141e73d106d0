import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  exactMatch,
  extractChoiceLetter,
  extractYesNo,
  f1Score,
  normalizeAnswer,
  qaScores,
} from '../activities/tasks/scoring';
import { bamboogle } from '../activities/tasks/bamboogle';
import { hotpotqa } from '../activities/tasks/hotpotqa';
import { mmlu } from '../activities/tasks/mmlu';
import { strategyqa } from '../activities/tasks/strategyqa';

void test('normalisation lower-cases, strips punctuation and articles, squeezes spaces', () => {
  assert.equal(normalizeAnswer('  The Quick,  Brown fox! '), 'quick brown fox');
  assert.equal(normalizeAnswer('An apple a day'), 'apple day');
  assert.equal(normalizeAnswer('A'), '');
  // Articles only as whole words.
  assert.equal(normalizeAnswer('Theatre and Anna, atheist'), 'theatre and anna atheist');
  // Punctuation goes before articles are looked for, so "the-end" becomes "theend", kept.
  assert.equal(normalizeAnswer('the-end'), 'theend');
  assert.equal(normalizeAnswer("the end's"), 'ends');
  // Python's \b is Unicode-aware: "the" glued to a non-ASCII letter is not a word.
  assert.equal(normalizeAnswer('éthe thé the'), 'éthe thé');
  // Python's split() whitespace, including no-break space, but not U+FEFF.
  assert.equal(normalizeAnswer('new\u00a0york\tcity\n'), 'new york city');
  assert.equal(normalizeAnswer('x\ufeffy'), 'x\ufeffy');
  // Non-ASCII punctuation is not stripped (the official scripts strip string.punctuation only).
  assert.equal(normalizeAnswer('“Yes”'), '“yes”');
});

void test('exact match compares normalised strings', () => {
  assert.equal(exactMatch('the Eiffel Tower.', 'Eiffel tower'), 1);
  assert.equal(exactMatch('Eiffel', 'Eiffel tower'), 0);
  assert.equal(exactMatch('1,000', '1000'), 1);
});

void test('token F1 counts shared tokens with multiplicity', () => {
  assert.equal(f1Score('Barack Obama president', 'Barack Obama'), 0.8);
  assert.ok(Math.abs(f1Score('x x y', 'x y y') - 2 / 3) < 1e-12);
  assert.equal(f1Score('x x x', 'x'), 0.5);
  assert.equal(f1Score('cat', 'dog'), 0);
  assert.equal(f1Score('', ''), 0);
  assert.equal(f1Score('The Cat', 'cat.'), 1);
});

void test('F1 is zero when yes/no/noanswer meets anything else', () => {
  assert.equal(f1Score('yes', 'no'), 0);
  assert.equal(f1Score('yes', 'yes sir'), 0);
  assert.equal(f1Score('no way', 'no'), 0);
  assert.equal(f1Score('noanswer', 'no answer'), 0);
  assert.equal(f1Score('Yes.', 'yes'), 1);
  assert.equal(f1Score('no answer', 'no answer given'), 0.8);
});

void test('EM and F1 take the best gold answer', () => {
  assert.deepEqual(qaScores('Obama', ['Barack Obama', 'Obama']), { em: 1, f1: 1 });
  const partial = qaScores('Barack', ['Michelle', 'Barack Obama']);
  assert.equal(partial.em, 0);
  assert.ok(Math.abs(partial.f1 - 2 / 3) < 1e-12);
  assert.deepEqual(qaScores(null, ['x']), { em: 0, f1: 0 });
  assert.deepEqual(qaScores('x', []), { em: 0, f1: 0 });
});

void test('yes/no extraction', () => {
  assert.equal(extractYesNo('Yes.'), 'yes');
  assert.equal(extractYesNo('No, because it is far.'), 'no');
  assert.equal(extractYesNo('TRUE'), 'yes');
  assert.equal(extractYesNo('false'), 'no');
  assert.equal(extractYesNo('The answer is yes'), 'yes');
  assert.equal(extractYesNo('yes and no'), 'yes');
  assert.equal(extractYesNo('either yes or no'), null);
  assert.equal(extractYesNo('maybe'), null);
  assert.equal(extractYesNo(''), null);
});

void test('choice letter extraction', () => {
  for (const p of ['D', 'd', 'D.', '(D)', '(d)', 'D)', 'D: summer', 'D. summer', ' D. summer ', '(D) summer', 'The answer is (D).', 'Answer: D']) {
    assert.equal(extractChoiceLetter(p), 'D', p);
  }
  for (const p of ['A bird', 'A, D', 'E', 'Dogs', 'summer', '']) assert.equal(extractChoiceLetter(p), null, p);
});

void test('HotpotQA and Bamboogle score EM, report EM and F1', () => {
  assert.deepEqual(hotpotqa.score('The Chief of Protocol', ['Chief of Protocol']), { score: 1, metrics: { em: 1, f1: 1 } });
  const partial = bamboogle.score('James Madison Jr', ['james madison']);
  assert.equal(partial.score, 0);
  assert.equal(partial.metrics.em, 0);
  assert.equal(partial.metrics.f1, 0.8);
  assert.deepEqual(hotpotqa.score(null, ['x']), { score: 0, metrics: { em: 0, f1: 0 } });
});

void test('StrategyQA scores the yes/no the prediction commits to', () => {
  assert.deepEqual(strategyqa.score('Yes', ['yes']), { score: 1, metrics: { accuracy: 1 } });
  assert.equal(strategyqa.score('no.', ['no']).score, 1);
  assert.equal(strategyqa.score('True', ['yes']).score, 1);
  assert.equal(strategyqa.score('no', ['yes']).score, 0);
  assert.equal(strategyqa.score('unclear', ['yes']).score, 0);
  assert.equal(strategyqa.score(null, ['yes']).score, 0);
  assert.equal(strategyqa.score('yes', []).score, 0);
});

void test('MMLU scores the chosen letter, or the gold option text', () => {
  const gold = ['D', 'summer'];
  for (const p of ['D', 'D.', '(D)', 'D. summer', 'Summer', 'summer.']) assert.equal(mmlu.score(p, gold).score, 1, p);
  // A letter decides even if text follows that would match.
  for (const p of ['C', 'C. summer', 'winter', 'A, D', '']) assert.equal(mmlu.score(p, gold).score, 0, p);
  assert.deepEqual(mmlu.score(null, gold), { score: 0, metrics: { accuracy: 0 } });
  // An option whose text is itself a letter is judged by the letter.
  assert.equal(mmlu.score('C', ['A', 'C']).score, 0);
});
