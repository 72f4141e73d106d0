// `npm run chaos`: the fault-injection suite at full size (the fast versions run in `npm test`), one
// fault after another, then a table: fault | runs | episodes lost | duplicates | calls paid twice |
// time to recover. `--quick` runs the fast sizes; `--only a,b` picks faults by name.
import { formatTable, type ChaosRow } from './chaos/harness';
import { runFailFast, runModelFaultChaos } from './chaos/model-faults';
import { runSearchFaultChaos } from './chaos/search-faults';
import { runTemporalRestartChaos } from './chaos/temporal-restart';
import { runTrainerKillChaos } from './chaos/trainer-kill';
import { runUnwritableChaos } from './chaos/unwritable';
import { runWorkerKillChaos } from './chaos/worker-kill';

const quick = process.argv.includes('--quick');
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? new Set(process.argv[onlyArg + 1]?.split(',')) : undefined;

const failFastRow = async (status: '400' | '401'): Promise<ChaosRow> => {
  const r = await runFailFast(status);
  return {
    fault: `model ${status} (fails fast)`,
    runs: 1,
    episodesLost: 0,
    duplicates: 0,
    callsPaidTwice: 0,
    recoverSeconds: `failed in ${r.seconds.toFixed(1)} s`,
    note: `${r.requests} requests, none repeated; "${r.message.split(' <- ').pop()}"`,
  };
};

const faults: Array<[string, () => Promise<ChaosRow>]> = [
  ['worker-kill', () => runWorkerKillChaos(quick ? { episodes: 150, kills: 3 } : { episodes: 1000, kills: 20 })],
  ['temporal-restart', () => runTemporalRestartChaos(quick ? { episodes: 60, downMs: 2000 } : { episodes: 300, downMs: 5000 })],
  ['model-faults', () => runModelFaultChaos(quick ? { episodes: 60, every: 6 } : { episodes: 300, every: 5 })],
  ['model-400', () => failFastRow('400')],
  ['model-401', () => failFastRow('401')],
  ['search-faults', () => runSearchFaultChaos(quick ? { episodes: 40, every: 4 } : { episodes: 200, every: 4 })],
  ['trainer-kill', () => runTrainerKillChaos(quick ? { episodes: 20, kills: 2, maxSteps: 60 } : { episodes: 40, kills: 5, maxSteps: 200 })],
  ['unwritable', () => runUnwritableChaos(quick ? { episodes: 60, blocks: 1, blockMs: 3000 } : { episodes: 300, blocks: 3, blockMs: 5000 })],
];

async function main(): Promise<void> {
  const rows: ChaosRow[] = [];
  let failed = 0;
  for (const [name, run] of faults) {
    if (only && !only.has(name)) continue;
    const t0 = Date.now();
    process.stdout.write(`chaos: ${name} ...\n`);
    try {
      const row = await run();
      rows.push(row);
      process.stdout.write(`chaos: ${name} passed in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    } catch (err) {
      failed++;
      const message = err instanceof Error ? err.message : String(err);
      rows.push({ fault: name, runs: 0, episodesLost: 0, duplicates: 0, callsPaidTwice: 0, recoverSeconds: 'FAILED', note: message.split('\n')[0] });
      process.stdout.write(`chaos: ${name} FAILED after ${((Date.now() - t0) / 1000).toFixed(0)} s: ${message}\n`);
    }
  }
  process.stdout.write(`\n${formatTable(rows)}\n`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
