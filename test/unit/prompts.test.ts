// The prompts are data files now; this pins them to the text rendered before they moved out of code. The replay
// teacher and the content cache key on prompt text, so any drift would break replayed runs and re-pay cached calls.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from '@jest/globals';
import { METHOD_NAMES } from '../../core/methods';
import { TASK_NAMES } from '../../core/names';
import { fillTemplate } from '../../lib/agent/exemplars';
import { REPO_ROOT } from '../../scripts/support/paths';
import { forcedFinishInstruction, malformedNudge, reflectionHeader, reflectionInstruction, systemPrompt } from '../../lib/agent/prompts';

interface Rendered {
  /** sha256 of every prompt rendered before the change, by `<method>/<task>/<fewShot>` (and the fixed instructions). */
  sha256: Record<string, string>;
  /** The full text of the fixed instructions and of every method x task prompt with all examples (fewShot 8). */
  text: Record<string, string>;
}

const fixture = JSON.parse(readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'prompts', 'rendered.json'), 'utf8')) as Rendered;

function renderedNow(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of METHOD_NAMES) for (const t of TASK_NAMES) for (let k = 0; k <= 8; k++) out.set(`${m}/${t}/${k}`, systemPrompt(m, t, k));
  for (const m of METHOD_NAMES) for (let a = 1; a <= 3; a++) out.set(`nudge/${m}/${a}`, malformedNudge(m, a));
  out.set('forced-finish', forcedFinishInstruction());
  out.set('reflection/steps/4', reflectionInstruction('steps', 4));
  out.set('reflection/incorrect/2', reflectionInstruction('incorrect', 2));
  out.set('reflection-header/3', reflectionHeader(3));
  return out;
}

void describe('prompts from data files', () => {
  const now = renderedNow();

  void it('covers every prompt the fixture recorded, and no other', () => {
    assert.deepEqual([...now.keys()].sort(), Object.keys(fixture.sha256).sort());
  });

  void it('renders the full prompts byte for byte as before', () => {
    assert.ok(Object.keys(fixture.text).length >= METHOD_NAMES.length * TASK_NAMES.length);
    for (const [key, text] of Object.entries(fixture.text)) assert.equal(now.get(key), text, key);
  });

  void it('renders every method, task and example count byte for byte as before', () => {
    const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
    for (const [key, digest] of Object.entries(fixture.sha256)) assert.equal(sha(now.get(key) ?? ''), digest, key);
  });
});

void describe('prompt templates', () => {
  void it('fills named placeholders and refuses one without a value', () => {
    assert.equal(fillTemplate('re-ask {attempt}: {form}', { attempt: 2, form: 'finish[x]' }), 're-ask 2: finish[x]');
    assert.throws(() => fillTemplate('Reply with {form}.', { attempt: 1 }), /prompt template has no value for \{form\}: "Reply with \{form\}\."/);
  });
});
