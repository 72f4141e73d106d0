// Every workflow the "fireact" worker hosts.
export { FireActExperiment } from './experiment';
export { GenerateShard } from './generate-shard';
