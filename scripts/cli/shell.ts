// Paths and commands the CLI prints are meant to be pasted into a POSIX shell: quote what needs it.

/** `s` as one shell word: unchanged when it has only safe characters, else in single quotes. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
