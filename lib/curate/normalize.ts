// The one question normalisation used to match training questions against eval splits.

/**
 * Lower-case, punctuation and symbols turned into spaces, whitespace squeezed and trimmed, after NFKC
 * (so full-width and compatibility forms match). Punctuation becomes a space rather than vanishing,
 * so "well-known" and "well known" match while "A.B" does not merge into "ab".
 */
export function normalizeQuestion(text: string): string {
  // ASCII text (nearly every question) takes a faster path with the same result: NFKC leaves it as
  // it is, and its punctuation and symbols are exactly the printable characters that are not alphanumeric.
  if (ASCII.test(text)) return text.toLowerCase().replace(ASCII_PUNCT, ' ').replace(/\s+/g, ' ').trim();
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const ASCII = /^[\x00-\x7f]*$/;
const ASCII_PUNCT = /[!-/:-@[-`{-~]+/g;
