// Small text helpers shared by every search backend, so all of them speak the same observation dialect.

/** The observation every backend returns when a query finds nothing (agents and replay rely on its exact form). */
export function noResultsObservation(query: string): string {
  return `No results found for "${query}".`;
}

/** Observations go on one prompt line: squeeze runs of whitespace (newlines included) to single spaces. */
export function squeezeWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
