// References to bulk data in the artifact store. Only these travel through workflow history.

/** The files a dataset mix can be written as: OpenAI chat JSONL, Alpaca JSON. */
export type DatasetFormat = 'openai' | 'alpaca';
/** The dataset format every student trains on, with either backend (workflows read it: no zod here). */
export const STUDENT_TRAINING_FORMAT = 'openai' satisfies DatasetFormat;

export interface ArtifactRef {
  /** Path relative to the artifact store root, '/'-separated. */
  path: string;
  /** Records in the file (lines, array items), where that means something. */
  count: number;
  sha256: string;
  bytes: number;
}
