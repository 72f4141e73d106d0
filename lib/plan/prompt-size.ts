// Prompt sizes measured on the real prompts, rendered for the sampled questions.
import type { MethodName } from '../../core/config';
import type { Question } from '../../core/trajectory';
import { promptMessages, studentMessages } from '../agent/prompts';
import { charsToTokens, MESSAGE_OVERHEAD_TOKENS } from './estimates';

/**
 * Mean tokens of an episode's first request: 'few-shot' is the system prompt with its worked examples
 * and the question; 'student' (a fine-tuned model, zero-shot) is the question alone.
 */
export function meanFirstPromptTokens(method: MethodName, questions: readonly Question[], fewShot: number, prompt: 'few-shot' | 'student' = 'few-shot'): number {
  if (questions.length === 0) return 0;
  let total = 0;
  for (const q of questions) {
    const messages = prompt === 'student' ? studentMessages(q, []) : promptMessages(method, q, [], fewShot);
    total += messages.reduce((s, m) => s + charsToTokens(m.content.length) + MESSAGE_OVERHEAD_TOKENS, 0);
  }
  return Math.round(total / questions.length);
}

/** Mean tokens of the question text alone (the first message of a training conversation, overhead not included). */
export function meanQuestionTokens(questions: readonly Question[]): number {
  if (questions.length === 0) return 0;
  return Math.round(questions.reduce((s, q) => s + charsToTokens(q.text.trim().length), 0) / questions.length);
}
