// What the agent loop needs from a search tool.
export interface SearchRequest {
  query: string;
  /** Replay uses the question to find the recording; real backends ignore it. */
  context?: { task: string; questionText: string; method: string };
}

export interface SearchResult {
  observation: string;
  backend: string;
  /** Answered from the content-addressed cache. */
  cached: boolean;
}

export interface SearchBackend {
  readonly name: string;
  search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResult>;
}
