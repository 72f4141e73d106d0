// The worker's V8 heap ceiling, passed as a Node flag by everything that starts a worker process
// (`npm run worker`, the tests' and the benchmark's worker processes). Without one, V8 sizes the heap
// from the machine's memory and, under generation's allocation rate, lets garbage pile up between full
// collections: 30,000 episodes peaked at 1,032 MiB resident although the live set stays under about
// 400 MiB (curation and dataset builds stream). With this ceiling V8 collects earlier and the same run
// peaks near 550 MiB. Larger jobs can raise it: `node --max-old-space-size=N --import tsx workers/main.ts`.
export const WORKER_HEAP_MIB = 1024;

/** Node flags for a worker process. */
export const WORKER_NODE_FLAGS: readonly string[] = [`--max-old-space-size=${WORKER_HEAP_MIB}`];
