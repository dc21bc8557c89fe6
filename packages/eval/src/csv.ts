/**
 * RFC 4180 CSV: quoted fields may hold commas, CR/LF and doubled quotes. Tolerates LF-only files and a UTF-8 BOM.
 *
 * Kept rather than replaced by csv-parse (tried, 7.0.3): the evaluator must report every malformed
 * row by its line and keep going, and csv-parse cannot do that. With skip_records_with_error it drops
 * the record after an unterminated quote without reporting it (only one error, and no record is returned
 * for wellFormedRows to reject); with relax_quotes, `"ok"x` becomes the value `"ok"x` with no error at all;
 * and its info.lines counts the CR of a quoted CRLF as a line, so the start lines of later records drift.
 */

export interface CsvRecord {
  /** 1-based physical line where the record starts (a quoted newline makes records span lines). */
  line: number;
  fields: string[];
}

export interface CsvParseResult {
  records: CsvRecord[];
  /** Structural faults (e.g. an unterminated quote, text after a closing quote); the affected record is still returned. */
  errors: { line: number; reason: string }[];
}

export function parseCsv(text: string): CsvParseResult {
  const records: CsvRecord[] = [];
  const errors: { line: number; reason: string }[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;

  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let endOfRecord = false;
    while (!endOfRecord) {
      if (text[i] === '"') {
        i++;
        let closed = false;
        while (i < n) {
          const ch = text[i]!;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (ch === '\n') line++;
          field += ch;
          i++;
        }
        if (!closed) errors.push({ line: startLine, reason: 'unterminated quoted field' });
        // RFC 4180 allows nothing between the closing quote and the separator; keep the text but say so.
        let stray = '';
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') stray += text[i++];
        if (stray) {
          errors.push({ line: startLine, reason: `text after closing quote: ${JSON.stringify(stray.slice(0, 20))}` });
          field += stray;
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') field += text[i++];
      }
      fields.push(field);
      field = '';
      if (i >= n) {
        endOfRecord = true;
      } else if (text[i] === ',') {
        i++;
        if (i >= n) {
          fields.push('');
          endOfRecord = true;
        }
      } else {
        if (text[i] === '\r') i++;
        if (text[i] === '\n') i++;
        line++;
        endOfRecord = true;
      }
    }
    // A line with nothing on it is a separator, not a record with one empty field.
    if (fields.length === 1 && fields[0] === '') continue;
    records.push({ line: startLine, fields });
  }
  return { records, errors };
}

/** Quotes a field when it holds a separator, quote, CR or LF, or leading/trailing space. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export interface CsvTable {
  header: string[];
  /** Column name → index; header names are trimmed and matched case-insensitively (lower-cased keys). */
  columns: Map<string, number>;
  rows: CsvRecord[];
  errors: { line: number; reason: string }[];
}

/** Parses CSV text whose first record is a header, so columns can be looked up by name. */
export function parseCsvTable(text: string): CsvTable {
  const { records, errors } = parseCsv(text);
  const headerRec = records.shift();
  if (!headerRec) throw new Error('CSV is empty (no header)');
  const header = headerRec.fields.map((h) => h.trim());
  const columns = new Map<string, number>();
  header.forEach((h, idx) => {
    const key = h.toLowerCase();
    if (!columns.has(key)) columns.set(key, idx);
  });
  return { header, columns, rows: records, errors };
}

/**
 * The records of a table that are structurally sound (parsed cleanly, right field count); every other
 * one is reported through `reject(line, reason)`, so callers never drop a row silently.
 */
export function* wellFormedRows(table: CsvTable, reject: (line: number, reason: string) => void): Generator<CsvRecord> {
  const structural = new Map(table.errors.map((e) => [e.line, e.reason]));
  for (const rec of table.rows) {
    if (structural.has(rec.line)) reject(rec.line, `malformed CSV: ${structural.get(rec.line)}`);
    else if (rec.fields.length !== table.header.length) reject(rec.line, `expected ${table.header.length} fields, found ${rec.fields.length}`);
    else yield rec;
  }
}
