// A JSON serialiser that writes exactly what Python's json.dumps / json.dump write with their defaults
// (ensure_ascii=True, ", " and ": " separators, or "," and ": " with indent). The released FireAct files
// were written that way, and byte-identical output is what lets us check our builder against them.

export interface PythonJsonOptions {
  /** Like json.dumps(indent=N): newline plus N spaces per level; item separator "," instead of ", ". */
  indent?: number;
}

/** json.dumps(value) / json.dumps(value, indent=N) for strings, numbers, booleans, null, arrays and plain objects. */
export function pythonJsonDumps(value: unknown, options: PythonJsonOptions = {}): string {
  const indent = options.indent;
  if (indent !== undefined && (!Number.isInteger(indent) || indent < 0)) {
    throw new TypeError(`indent must be a non-negative integer, got ${indent}`);
  }
  const out: string[] = [];
  write(value, 0, indent, out, new Set());
  return out.join('');
}

function write(value: unknown, level: number, indent: number | undefined, out: string[], seen: Set<object>): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'string':
      out.push(pythonJsonString(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      out.push(pythonNumber(value));
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`cannot serialise a value of type ${typeof value}`);
  }
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError('circular reference');
  seen.add(obj);

  const entries: Array<[string | null, unknown]> = Array.isArray(obj)
    ? obj.map((v): [null, unknown] => [null, v])
    : Object.entries(obj).filter(([, v]) => v !== undefined); // absent, as JSON.stringify does
  const [open, close] = Array.isArray(obj) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) {
    out.push(open + close);
    seen.delete(obj);
    return;
  }
  // Python: with indent the item separator is "," + newline; without, ", ".
  const inner = indent === undefined ? '' : '\n' + ' '.repeat(indent * (level + 1));
  const outer = indent === undefined ? '' : '\n' + ' '.repeat(indent * level);
  const itemSep = indent === undefined ? ', ' : ',' + inner;
  out.push(open + inner);
  entries.forEach(([key, v], i) => {
    if (i > 0) out.push(itemSep);
    if (key !== null) out.push(pythonJsonString(key), ': ');
    write(v, level + 1, indent, out, seen);
  });
  out.push(outer + close);
  seen.delete(obj);
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** Python's ensure_ascii string encoding: everything outside printable ASCII (space..~) becomes \uXXXX. */
function pythonJsonString(s: string): string {
  // JS strings are UTF-16, so astral characters already come as surrogate pairs, as Python writes them.
  return '"' + s.replace(/[\\"]|[^\x20-\x7e]/g, (ch) => SHORT_ESCAPES[ch] ?? '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0')) + '"';
}

/**
 * JS has one number type. The contract is: pythonJsonDumps(v) === json.dumps(json.loads(JSON.stringify(v))).
 * JSON.stringify writes integral values below 1e21 without exponent or fraction, which Python reads as
 * an int and writes back the same way; everything else Python reads as a float and writes with repr().
 */
function pythonNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return Object.is(n, -0) ? '0' : String(n);
  return pythonFloatRepr(n);
}

/** repr(float): shortest round-trip digits; exponent form when the decimal exponent is < -4 or >= 16. */
export function pythonFloatRepr(n: number): string {
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  // toExponential() without digits gives the shortest digits that round-trip, like Python's repr.
  const [mantissa, expText] = Math.abs(n).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(expText); // value = d.ddd × 10^exp
  const decpt = exp + 1; // Python's "decpt": value = 0.ddd × 10^decpt
  if (decpt <= -4 || decpt > 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}
