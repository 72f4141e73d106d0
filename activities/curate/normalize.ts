// The one question normalisation used to match training questions against eval splits.

/**
 * Lower-case, punctuation and symbols turned into spaces, whitespace squeezed and trimmed, after NFKC
 * (so full-width and compatibility forms match). Punctuation becomes a space rather than vanishing,
 * so "well-known" and "well known" match while "A.B" does not merge into "ab".
 */
export function normalizeQuestion(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
