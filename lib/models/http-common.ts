// What every HTTP client of ours (models, fine-tuning, search tools) does the same way: keep secrets out of
// the messages it reports, and read how long a server asks it to wait.

/** Keys shorter than this are not redacted: cutting them out would mangle messages and protect nothing. */
const MIN_SECRET_LENGTH = 4;
const REDACTED = '[redacted]';

/** `text` with each secret (as given and URL-encoded, as a query string carries it) replaced by a marker. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < MIN_SECRET_LENGTH) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join(REDACTED);
  }
  return out;
}

type HeaderSource = Headers | Record<string, string | undefined>;

/**
 * Milliseconds a server asked for: `retry-after-ms`, else `retry-after` (delta-seconds or an HTTP date).
 * Takes the response's headers, or a `retry-after` value alone; undefined when absent or unreadable.
 */
export function parseRetryAfterMs(source: HeaderSource | string | null | undefined, now: number = Date.now()): number | undefined {
  if (source === null || source === undefined) return undefined;
  const get = (name: string): string | undefined =>
    typeof source === 'string' ? (name === 'retry-after' ? source : undefined) : source instanceof Headers ? (source.get(name) ?? undefined) : source[name];
  const ms = get('retry-after-ms')?.trim();
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = get('retry-after')?.trim();
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra)) return Math.round(Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
