// Runs the fake OpenAI endpoint as its own process for tests that span processes.
// Prints the base URL as the first stdout line, then serves until SIGINT/SIGTERM.
//
//   node --import tsx test/support/fake-openai-server-main.ts [--port N] [--log FILE.jsonl]
//        [--faults 1:429,2:reset] [--delay-ms N] [--search-first]
//
// --log defaults to $FAKE_OPENAI_LOG; --faults maps chat-request numbers to faults (see faultReply).
import { parseArgs } from 'node:util';
import { faultReply, fakeTeacher, startFakeOpenAIServer, type FakeReply } from '../../scripts/support/fake-openai-server';
import { serveUntilSignalled } from './serve-until-signalled';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.FAKE_OPENAI_PORT ?? '0' },
      log: { type: 'string', default: process.env.FAKE_OPENAI_LOG },
      faults: { type: 'string', default: process.env.FAKE_OPENAI_FAULTS ?? '' },
      'delay-ms': { type: 'string', default: '0' },
      'search-first': { type: 'boolean', default: false },
    },
  });
  const faults = new Map<number, FakeReply>();
  for (const item of (values.faults ?? '').split(',').filter(Boolean)) {
    const [n, kind] = item.split(':');
    if (!/^\d+$/.test(n ?? '') || !kind) throw new Error(`bad --faults item "${item}" (want N:kind)`);
    faults.set(Number(n), faultReply(kind));
  }
  const delayMs = Number(values['delay-ms']);
  const teacher = fakeTeacher({ searchFirst: values['search-first'] });
  const server = await startFakeOpenAIServer({
    port: Number(values.port),
    logFile: values.log,
    behaviour: async (body, n) => {
      const fault = faults.get(n);
      if (fault) return fault;
      const content = await teacher(body, n);
      return typeof content === 'string' ? { content, delayMs } : content;
    },
  });
  serveUntilSignalled(server);
}

main().catch((err: Error) => {
  process.stderr.write(`fake-openai-server: ${err.message}\n`);
  process.exit(1);
});
