// Provider "replay": answers with the recorded GPT-4 turn for this question, method and turn index.
import type { ChatModel, ChatRequest, ChatResponse, ModelProvider } from '../models/types';
import { replayMiss, type ReplayLibrary } from './library';

const roughTokens = (text: string) => Math.ceil(text.length / 4);

export function createReplayModel(name: string, model: string, library: ReplayLibrary): ChatModel {
  return {
    name,
    provider: 'replay',
    model,
    async complete(request: ChatRequest): Promise<ChatResponse> {
      const ctx = request.context;
      if (!ctx) throw replayMiss('replay needs the agent context (task, method, question) with every request');
      const rec = library.find(ctx.task, ctx.method, ctx.questionText);
      if (!rec) throw replayMiss(`no ${ctx.method} recording of ${ctx.task} question ${ctx.questionId}`);
      const diverged = ctx.previousTurns.findIndex((t, i) => t !== rec.assistantTurns[i]);
      if (diverged >= 0) throw replayMiss(`episode left its recording at turn ${diverged} (${ctx.task} ${ctx.questionId}, ${ctx.method})`);
      if (ctx.turn >= rec.assistantTurns.length) {
        throw replayMiss(`recording of ${ctx.task} ${ctx.questionId} (${ctx.method}) has ${rec.assistantTurns.length} turns; turn ${ctx.turn} was asked`);
      }
      const content = rec.assistantTurns[ctx.turn];
      return {
        content,
        promptTokens: roughTokens(request.messages.map((m) => m.content).join('\n')),
        completionTokens: roughTokens(content),
        cached: false,
        finishReason: 'stop',
        recordedObservation: rec.observations[ctx.turn],
      };
    },
  };
}

/** Provider `replay`: the teacher turns recorded in the FireAct fine-tuning files. */
export const replayProvider: ModelProvider = async ({ name, config, replayLibrary }) => createReplayModel(name, config.model, await replayLibrary(config.replayFiles));
