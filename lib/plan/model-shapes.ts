// Shapes of decoder-only models that students commonly start from, as data, for the GPU memory
// estimate when no config.json of the model is on this machine. Each row is copied from the model's
// config.json on the Hugging Face Hub (hidden_size, num_hidden_layers, num_attention_heads,
// num_key_value_heads, vocab_size, intermediate_size, tie_word_embeddings).

export interface ModelShape {
  hidden: number;
  layers: number;
  heads: number;
  /** Key/value heads (grouped-query attention); equal to heads without it. */
  kvHeads: number;
  vocab: number;
  /** MLP width of the gated (SwiGLU) feed-forward block. */
  intermediate: number;
  tiedEmbeddings: boolean;
}

export interface KnownArchitecture extends ModelShape {
  /** Hub ids with these shapes (matched without regard to case). */
  ids: string[];
  source: string;
}

export const KNOWN_ARCHITECTURES: readonly KnownArchitecture[] = [
  {
    ids: ['meta-llama/Llama-2-7b-hf', 'meta-llama/Llama-2-7b-chat-hf'],
    hidden: 4096, layers: 32, heads: 32, kvHeads: 32, vocab: 32000, intermediate: 11008, tiedEmbeddings: false,
    source: 'config.json of meta-llama/Llama-2-7b-hf on the Hugging Face Hub',
  },
  {
    ids: ['meta-llama/Llama-2-13b-hf', 'meta-llama/Llama-2-13b-chat-hf'],
    hidden: 5120, layers: 40, heads: 40, kvHeads: 40, vocab: 32000, intermediate: 13824, tiedEmbeddings: false,
    source: 'config.json of meta-llama/Llama-2-13b-hf on the Hugging Face Hub',
  },
  {
    ids: ['meta-llama/Llama-2-70b-hf', 'meta-llama/Llama-2-70b-chat-hf'],
    hidden: 8192, layers: 80, heads: 64, kvHeads: 8, vocab: 32000, intermediate: 28672, tiedEmbeddings: false,
    source: 'config.json of meta-llama/Llama-2-70b-hf on the Hugging Face Hub',
  },
  {
    ids: ['codellama/CodeLlama-7b-hf', 'codellama/CodeLlama-7b-Instruct-hf', 'codellama/CodeLlama-7b-Python-hf'],
    hidden: 4096, layers: 32, heads: 32, kvHeads: 32, vocab: 32016, intermediate: 11008, tiedEmbeddings: false,
    source: 'config.json of codellama/CodeLlama-7b-hf on the Hugging Face Hub',
  },
  {
    ids: ['codellama/CodeLlama-13b-hf', 'codellama/CodeLlama-13b-Instruct-hf', 'codellama/CodeLlama-13b-Python-hf'],
    hidden: 5120, layers: 40, heads: 40, kvHeads: 40, vocab: 32016, intermediate: 13824, tiedEmbeddings: false,
    source: 'config.json of codellama/CodeLlama-13b-hf on the Hugging Face Hub',
  },
  {
    ids: ['codellama/CodeLlama-34b-hf', 'codellama/CodeLlama-34b-Instruct-hf', 'codellama/CodeLlama-34b-Python-hf'],
    hidden: 8192, layers: 48, heads: 64, kvHeads: 8, vocab: 32000, intermediate: 22016, tiedEmbeddings: false,
    source: 'config.json of codellama/CodeLlama-34b-hf on the Hugging Face Hub',
  },
  {
    ids: ['meta-llama/Meta-Llama-3-8B', 'meta-llama/Meta-Llama-3-8B-Instruct'],
    hidden: 4096, layers: 32, heads: 32, kvHeads: 8, vocab: 128256, intermediate: 14336, tiedEmbeddings: false,
    source: 'config.json of meta-llama/Meta-Llama-3-8B on the Hugging Face Hub',
  },
  {
    ids: ['mistralai/Mistral-7B-v0.1', 'mistralai/Mistral-7B-Instruct-v0.1'],
    hidden: 4096, layers: 32, heads: 32, kvHeads: 8, vocab: 32000, intermediate: 14336, tiedEmbeddings: false,
    source: 'config.json of mistralai/Mistral-7B-v0.1 on the Hugging Face Hub',
  },
];

export function knownArchitecture(hubId: string): KnownArchitecture | undefined {
  const id = hubId.toLowerCase();
  return KNOWN_ARCHITECTURES.find((a) => a.ids.some((i) => i.toLowerCase() === id));
}

/** Shapes from a Transformers config.json, or undefined when it lacks what the estimate needs. */
export function shapeFromConfigJson(json: unknown): ModelShape | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const c = json as Record<string, unknown>;
  const num = (k: string) => (typeof c[k] === 'number' && Number.isInteger(c[k]) && (c[k] as number) > 0 ? (c[k] as number) : undefined);
  const hidden = num('hidden_size');
  const layers = num('num_hidden_layers');
  const heads = num('num_attention_heads');
  const vocab = num('vocab_size');
  if (!hidden || !layers || !heads || !vocab) return undefined;
  return {
    hidden,
    layers,
    heads,
    kvHeads: num('num_key_value_heads') ?? heads,
    vocab,
    intermediate: num('intermediate_size') ?? 4 * hidden,
    tiedEmbeddings: c.tie_word_embeddings === true,
  };
}
