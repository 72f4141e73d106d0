// `fireact` command line: a table of commands, each with its flags and help, and an implementation
// imported only when that command runs (so `--help` or `validate` never load the Temporal client).
import { bool, helpText, parseCommand, str, UsageError, type CommandSpec, type Parsed } from './cli/args';

interface Command extends CommandSpec {
  /** Returns the exit status (0 when nothing is returned). */
  run(p: Parsed): Promise<number | void>;
}

const ID = ['<id>'];

const COMMANDS: Command[] = [
  {
    name: 'start',
    args: ['<config>'],
    summary: 'Start an experiment from a YAML or JSON config; prints its id and UI link.',
    notes: ['The config is checked first (as `fireact validate` does); a config with problems is refused unless --force.'],
    options: {
      id: { type: 'string', value: 'ID', help: 'experiment id (default: <name>-<date>-<time>)' },
      watch: { type: 'boolean', help: 'follow its progress until it ends' },
      force: { type: 'boolean', help: 'start even though the checks found problems' },
    },
    run: async (p) => (await import('./cli/experiments')).startCommand(p.positionals[0], { id: str(p, 'id'), watch: bool(p, 'watch'), force: bool(p, 'force') }),
  },
  {
    name: 'watch',
    args: ID,
    summary: 'Live progress per stage until the experiment ends, then what it produced.',
    options: {},
    run: async (p) => (await import('./cli/experiments')).watchCommand(p.positionals[0]),
  },
  {
    name: 'status',
    args: ID,
    summary: 'Progress and state of an experiment, once.',
    options: {},
    run: async (p) => (await import('./cli/experiments')).statusCommand(p.positionals[0]),
  },
  {
    name: 'list',
    args: [],
    summary: 'Recent experiments: id, status, start time.',
    options: {},
    run: async () => (await import('./cli/experiments')).listCommand(),
  },
  {
    name: 'cancel',
    args: ID,
    summary: 'Cancel a running experiment (its shards, trainings and remote jobs stop too).',
    options: {},
    run: async (p) => (await import('./cli/experiments')).cancelCommand(p.positionals[0]),
  },
  {
    name: 'budget',
    args: ID,
    summary: 'Raise a spending cap of a running experiment; a paused one continues.',
    options: {
      add: { type: 'string', value: 'USD', help: 'dollars to add to the cap' },
      tokens: { type: 'string', value: 'N', help: 'tokens to add to the token cap' },
      model: { type: 'string', value: 'NAME', help: "raise this model's own cap instead of the experiment's" },
    },
    run: async (p) => (await import('./cli/budget')).budgetCommand(p.positionals[0], { add: str(p, 'add'), tokens: str(p, 'tokens'), model: str(p, 'model') }),
  },
  {
    name: 'report',
    args: ID,
    summary: "Where a completed experiment's report.md, report.html and summary.json are.",
    options: {},
    run: async (p) => (await import('./cli/experiments')).reportCommand(p.positionals[0]),
  },
  {
    name: 'validate',
    args: ['<config>'],
    summary: 'Check a config file and its data without starting anything (exit 1 on problems).',
    notes: ['Accepts an experiment config, or a workflow input {"config": …} as `temporal workflow start --input-file` takes.'],
    options: {},
    run: async (p) => (await import('./cli/plan')).validateCommand(p.positionals[0]),
  },
  {
    name: 'plan',
    args: ['<config>'],
    summary: 'Samples, episodes, calls, tokens, cost and budget reservations, before anything runs (exit 1 on problems).',
    options: { json: { type: 'boolean', help: 'print the plan as JSON' } },
    run: async (p) => (await import('./cli/plan')).planCommand(p.positionals[0], { json: bool(p, 'json') }),
  },
  {
    name: 'resume',
    args: ID,
    summary: 'Continue a failed, cancelled or blocked experiment, reusing finished work.',
    options: {
      reset: { type: 'boolean', help: 'reset the same workflow to the stage that failed (the default when the config stays)' },
      new: { type: 'boolean', help: 'start a new run <id>-r<N> in the same artifact folder' },
      config: { type: 'string', value: 'FILE', help: 'a changed config for the new run (implies --new); checked as start checks it' },
      force: { type: 'boolean', help: 'resume with the changed config even though the checks found problems' },
    },
    run: async (p) =>
      (await import('./cli/resume')).resumeCommand(p.positionals[0], { reset: bool(p, 'reset'), new: bool(p, 'new'), config: str(p, 'config'), force: bool(p, 'force') }),
  },
  {
    name: 'score',
    args: [],
    summary: "Score predictions with a task's own scorer; prints means with bootstrap 95% intervals as JSON.",
    notes: ['Each line of the file: {"prediction": string|null, "answer": string|string[]} or {"prediction": …, "question": "…"}.'],
    options: {
      task: { type: 'string', value: 'TASK', help: 'hotpotqa, strategyqa, bamboogle or mmlu (required)' },
      predictions: { type: 'string', value: 'FILE', help: 'JSONL predictions (required)' },
      split: { type: 'string', value: 'SPLIT', help: "split whose gold answers a \"question\" line is looked up in (default: the task's eval split)" },
      scoring: { type: 'string', value: 'lenient|fireact', help: 'lenient (default: a yes/no or option letter anywhere in the answer) or fireact (the FireAct authors\' checks: the answer starts with it); HotpotQA and Bamboogle EM/F1 are the same under both' },
      'data-dir': { type: 'string', value: 'DIR', help: 'the FireAct data folder (default: ../shared/fireact)' },
    },
    run: async (p) =>
      (await import('./cli/score')).scoreCommand({ task: str(p, 'task'), predictions: str(p, 'predictions'), split: str(p, 'split'), scoring: str(p, 'scoring'), dataDir: str(p, 'data-dir') }),
  },
];

const USAGE = [
  'usage: fireact <command> [options]     (fireact <command> --help for its flags)',
  '',
  ...COMMANDS.map((c) => `  ${[c.name, ...c.args].join(' ').padEnd(18)} ${c.summary}`),
  '',
  'env: TEMPORAL_ADDRESS (127.0.0.1:7233), TEMPORAL_NAMESPACE (default), FIREACT_UI_URL (http://localhost:8233)',
].join('\n');

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) throw new UsageError(`fireact: unknown command "${name}"`, USAGE);
  const parsed = parseCommand(cmd, rest);
  if (parsed.help) {
    console.log(helpText(cmd));
    return 0;
  }
  return (await cmd.run(parsed)) ?? 0;
}

/** The message for a failure; by name, so the error path loads no module the command did not. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return `fireact: ${String(err)}`;
  if (err.name === 'ConfigError') return err.message;
  if (err.name === 'WorkflowNotFoundError') return `no such experiment: ${(err as Error & { workflowId?: string }).workflowId}`;
  return `fireact: ${err.message}`;
}

// A reader that stops early (`fireact list | head -1`) closes the pipe: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n${err.usage}`);
      process.exit(2);
    }
    console.error(describeError(err));
    process.exit(1);
  },
);
