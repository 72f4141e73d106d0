// Every workflow the "fireact" worker hosts.
export { FireActExperiment } from './experiment';
export { GenerateShard } from './generate-shard';
export { GenerateBatch } from './generate-batch';
export { FineTuneStudent } from './finetune-student';
export { EvaluateModel } from './evaluate-model';
