// Runs the fake OpenAI fine-tuning API as its own process for tests that span processes.
// Prints the base URL as the first stdout line, then serves until SIGINT/SIGTERM.
//
//   node --import tsx test/support/fake-finetune-server-main.ts [--port N] [--key KEY] [--log FILE.jsonl]
//        [--step-ms N] [--stage-ms N] [--total-steps N] [--checkpoint-every N]
//        [--fail-at-step N --fail-message TEXT] [--file-processing-ms N]
//
// --key defaults to $FAKE_FINETUNE_KEY, then "sk-fake-finetune-key"; --log to $FAKE_FINETUNE_LOG.
import { parseArgs } from 'node:util';
import { startFakeFineTuneServer } from '../../scripts/support/fake-finetune-server';
import { serveUntilSignalled } from './serve-until-signalled';

function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.FAKE_FINETUNE_PORT ?? '0' },
      key: { type: 'string', default: process.env.FAKE_FINETUNE_KEY },
      log: { type: 'string', default: process.env.FAKE_FINETUNE_LOG },
      'step-ms': { type: 'string' },
      'stage-ms': { type: 'string' },
      'total-steps': { type: 'string' },
      'checkpoint-every': { type: 'string' },
      'fail-at-step': { type: 'string' },
      'fail-message': { type: 'string', default: 'The job failed due to an internal error.' },
      'file-processing-ms': { type: 'string' },
    },
  });
  const failAt = num(values['fail-at-step'], 'fail-at-step');
  const server = await startFakeFineTuneServer({
    port: num(values.port, 'port'),
    apiKey: values.key,
    logFile: values.log,
    stepMs: num(values['step-ms'], 'step-ms'),
    stageMs: num(values['stage-ms'], 'stage-ms'),
    totalSteps: num(values['total-steps'], 'total-steps'),
    checkpointEvery: num(values['checkpoint-every'], 'checkpoint-every'),
    fileProcessingMs: num(values['file-processing-ms'], 'file-processing-ms'),
    failure: failAt !== undefined ? { atStep: failAt, message: values['fail-message'] ?? 'failed' } : undefined,
  });
  serveUntilSignalled(server);
}

main().catch((err: Error) => {
  process.stderr.write(`fake-finetune-server: ${err.message}\n`);
  process.exit(1);
});
