// A small RFC 4180 CSV parser: quoted fields, "" as an escaped quote, commas and newlines inside
// quotes (kept verbatim). Records end at CRLF, LF or CR, since the data files mix them. Blank
// lines are skipped, as the upstream MMLU/Bamboogle readers (pandas) do. Where the data breaks
// RFC 4180 it is read as Python's csv module reads it, since the files were written for that
// reader: a quote inside an unquoted field is literal (Bamboogle has `the "Quit India" speech`),
// and text after a closing quote is appended to the field. Pure (no I/O).

export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    /** 1-based line of the input where the problem is. */
    readonly line: number,
  ) {
    super(`${message} (line ${line})`);
    this.name = 'CsvSyntaxError';
  }
}

/** Parses CSV text into records of raw (untrimmed) fields. A leading byte-order mark is ignored. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  const n = text.length;
  let record: string[] = [];
  let field = '';
  let atFieldStart = true;
  // Whether the current record has any content; a record without any is a blank line.
  let started = false;
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  while (i < n) {
    const ch = text[i];
    if (atFieldStart && ch === '"') {
      const openLine = line;
      started = true;
      atFieldStart = false;
      i += 1;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) throw new CsvSyntaxError('unterminated quoted field', openLine);
        const chunk = text.slice(i, close);
        line += countLineBreaks(chunk);
        field += chunk;
        if (text[close + 1] !== '"') {
          i = close;
          break;
        }
        field += '"';
        i = close + 2;
      }
      i += 1; // the closing quote; any text up to the next comma joins the field below
    } else if (ch === ',') {
      record.push(field);
      field = '';
      started = true;
      atFieldStart = true;
      i += 1;
    } else if (ch === '\n' || ch === '\r') {
      if (started) {
        record.push(field);
        records.push(record);
      }
      record = [];
      field = '';
      started = false;
      atFieldStart = true;
      line += 1;
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      // Unquoted text; a quote here is literal.
      let j = i + 1;
      while (j < n && !isFieldEnd(text.charCodeAt(j))) j += 1;
      field += text.slice(i, j);
      started = true;
      atFieldStart = false;
      i = j;
    }
  }
  if (started) {
    record.push(field);
    records.push(record);
  }
  return records;
}

const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

function isFieldEnd(code: number): boolean {
  return code === COMMA || code === LF || code === CR;
}

/** Line breaks in a chunk, counting CRLF once. */
function countLineBreaks(chunk: string): number {
  let count = 0;
  for (let k = 0; k < chunk.length; k += 1) {
    const c = chunk.charCodeAt(k);
    if (c === LF || (c === CR && chunk.charCodeAt(k + 1) !== LF)) count += 1;
  }
  return count;
}
