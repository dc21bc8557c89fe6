// A strict parser for the YAML subset the ops files use (block maps and sequences, quoted and plain
// scalars, simple flow collections, `|`/`>` block scalars, anchors, aliases and `<<` merges), so the
// checks run with Node alone. Anything outside the subset throws with a line number instead of being
// guessed at; the files themselves are also validated by promtool and `kubectl kustomize` where present.

export function parseYamlDocuments(text, source = '<yaml>') {
  const docs = [];
  let chunk = [];
  let firstLine = 1;
  const lines = text.split(/\r?\n/);
  const flush = (endLine) => {
    const value = new Parser(chunk, firstLine, source).parseDocument();
    if (value !== undefined) docs.push(value);
    chunk = [];
    firstLine = endLine + 1;
  };
  lines.forEach((line, i) => {
    if (/^---(\s+#.*)?\s*$/.test(line)) flush(i + 1);
    else if (/^---\s/.test(line)) throw new YamlError(source, i + 1, 'content after a document marker is not supported');
    else chunk.push(line);
  });
  flush(lines.length);
  return docs;
}

export function parseYaml(text, source) {
  const docs = parseYamlDocuments(text, source);
  if (docs.length !== 1) throw new YamlError(source ?? '<yaml>', 1, `expected one document, found ${docs.length}`);
  return docs[0];
}

export class YamlError extends Error {
  constructor(source, line, message) {
    super(`${source}:${line}: ${message}`);
    this.name = 'YamlError';
  }
}

class Parser {
  constructor(rawLines, firstLine, source) {
    this.source = source;
    this.anchors = new Map();
    this.lines = rawLines.map((raw, i) => {
      const m = /^( *)(.*)$/.exec(raw);
      if (m[2].startsWith('\t')) throw new YamlError(source, firstLine + i, 'tab in indentation');
      return { raw, indent: m[1].length, text: m[2].replace(/\s+$/, ''), no: firstLine + i };
    });
    this.pos = 0;
  }

  fail(message, line = this.lines[Math.min(this.pos, this.lines.length - 1)]) {
    throw new YamlError(this.source, line ? line.no : 0, message);
  }

  skipBlank() {
    while (this.pos < this.lines.length) {
      const t = this.lines[this.pos].text;
      if (t === '' || t.startsWith('#')) this.pos++;
      else break;
    }
    return this.lines[this.pos];
  }

  parseDocument() {
    const line = this.skipBlank();
    if (!line) return undefined;
    if (line.indent !== 0) this.fail('document must start at column 0');
    const value = this.parseBlock(0);
    const rest = this.skipBlank();
    if (rest) this.fail('unexpected content (bad indentation?)', rest);
    return value;
  }

  parseBlock(minIndent) {
    const line = this.skipBlank();
    if (!line || line.indent < minIndent) return null;
    return isSeqItem(line.text) ? this.parseSeq(line.indent) : this.parseMap(line.indent);
  }

  parseMap(indent) {
    const explicit = {};
    const merged = {};
    for (;;) {
      const line = this.skipBlank();
      if (!line || line.indent < indent) break;
      if (line.indent > indent) this.fail('unexpected indentation', line);
      if (isSeqItem(line.text)) break;
      const kv = splitKey(line.text);
      if (!kv) this.fail(`expected "key: value", got ${JSON.stringify(line.text)}`, line);
      const { key, rest } = kv;
      const value = this.parseValue(rest, indent, line, true);
      if (key === '<<') {
        for (const m of Array.isArray(value) ? value : [value]) {
          if (!isPlainObject(m)) this.fail('<< must merge a mapping', line);
          Object.assign(merged, m);
        }
      } else {
        if (Object.hasOwn(explicit, key)) this.fail(`duplicate key ${key}`, line);
        explicit[key] = value;
      }
    }
    return { ...merged, ...explicit };
  }

  parseSeq(indent) {
    const out = [];
    for (;;) {
      const line = this.skipBlank();
      if (!line || line.indent < indent) break;
      if (line.indent > indent) this.fail('unexpected indentation', line);
      if (!isSeqItem(line.text)) break;
      const after = line.text.slice(1);
      const rest = after.trimStart();
      const offset = 1 + (after.length - rest.length);
      if (rest === '' || rest.startsWith('#')) {
        this.pos++;
        out.push(this.parseBlock(indent + 1));
      } else if (!/^["'[{*&|>]/.test(rest) && splitKey(stripComment(rest))) {
        // "- key: value" opens a mapping whose column is where the key starts.
        line.indent += offset;
        line.text = rest;
        out.push(this.parseMap(line.indent));
      } else {
        out.push(this.parseValue(rest, indent, line, false));
      }
    }
    return out;
  }

  /** The value after "key:" or "- ", including nested blocks that follow on later lines. */
  parseValue(rest, indent, line, inMap) {
    let text = stripComment(rest).trim();
    let anchor = null;
    const a = /^&([^\s[\]{},]+)\s*/.exec(text);
    if (a) {
      anchor = a[1];
      text = text.slice(a[0].length);
    }
    let value;
    if (text === '') {
      this.pos++;
      const next = this.skipBlank();
      if (next && next.indent > indent) value = this.parseBlock(next.indent);
      else if (inMap && next && next.indent === indent && isSeqItem(next.text)) value = this.parseSeq(indent);
      else value = null;
    } else if (/^[|>][-+]?$/.test(text)) {
      value = this.blockScalar(text, indent);
    } else {
      value = this.scalar(text, line);
      this.pos++;
      const next = this.skipBlank();
      if (next && next.indent > indent) this.fail('multi-line plain scalars are not supported', next);
    }
    if (anchor) this.anchors.set(anchor, value);
    return value;
  }

  blockScalar(header, indent) {
    const folded = header[0] === '>';
    const chomp = header[1] ?? '';
    this.pos++;
    const body = [];
    let blockIndent = -1;
    while (this.pos < this.lines.length) {
      const l = this.lines[this.pos];
      if (l.raw.trim() === '') {
        body.push('');
        this.pos++;
        continue;
      }
      if (blockIndent < 0) {
        if (l.indent <= indent) break;
        blockIndent = l.indent;
      }
      if (l.indent < blockIndent) break;
      body.push(l.raw.slice(blockIndent).replace(/\s+$/, ''));
      this.pos++;
    }
    // Trailing blank lines belong to the following content, not to the scalar (unless kept with '+').
    let trailing = 0;
    while (body.length && body[body.length - 1] === '') {
      body.pop();
      trailing++;
    }
    let text = folded ? fold(body) : body.join('\n');
    if (chomp === '+') text += '\n'.repeat(trailing + 1);
    else if (chomp !== '-' && body.length) text += '\n';
    return text;
  }

  scalar(text, line) {
    if (text.startsWith('*')) {
      const name = text.slice(1);
      if (!this.anchors.has(name)) this.fail(`unknown alias *${name}`, line);
      return structuredClone(this.anchors.get(name));
    }
    if (text.startsWith('[') || text.startsWith('{')) {
      const r = new FlowReader(text, (m) => this.fail(m, line));
      const v = r.value();
      r.end();
      return v;
    }
    if (text.startsWith('"') || text.startsWith("'")) {
      const { value, end } = readQuoted(text, 0, (m) => this.fail(m, line));
      if (text.slice(end).trim() !== '') this.fail('text after a quoted scalar', line);
      return value;
    }
    return plainScalar(text);
  }
}

function isSeqItem(text) {
  return text === '-' || text.startsWith('- ');
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** "key: rest" → {key, rest}; null when the text is not a mapping entry. */
function splitKey(text) {
  if (text.startsWith('"') || text.startsWith("'")) {
    let q;
    try {
      q = readQuoted(text, 0, (m) => {
        throw new Error(m);
      });
    } catch {
      return null;
    }
    const after = text.slice(q.end);
    const m = /^\s*:(?:\s+|$)/.exec(after);
    return m ? { key: q.value, rest: after.slice(m[0].length) } : null;
  }
  if (/^[[{#&*!|>%@`]/.test(text) && !text.startsWith('<<')) return null;
  const m = /^([^\s#"'][^#"']*?)\s*:(?:\s+|$)/.exec(text);
  if (!m) return null;
  return { key: m[1], rest: text.slice(m[0].length) };
}

function stripComment(s) {
  let quote = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote === '"') {
      if (c === '\\') i++;
      else if (c === '"') quote = null;
    } else if (quote === "'") {
      if (c === "'" && s[i + 1] === "'") i++;
      else if (c === "'") quote = null;
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:]/.test(s[i - 1]))) {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) {
      return s.slice(0, i).trimEnd();
    }
  }
  return s;
}

function readQuoted(s, start, fail) {
  const q = s[start];
  let i = start + 1;
  let out = '';
  for (;;) {
    if (i >= s.length) fail('unterminated quoted string');
    const c = s[i];
    if (q === "'") {
      if (c === "'" && s[i + 1] === "'") {
        out += "'";
        i += 2;
        continue;
      }
      if (c === "'") return { value: out, end: i + 1 };
      out += c;
      i++;
    } else {
      if (c === '\\') {
        const e = s[i + 1];
        const simple = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', '/': '/', 0: '\0', ' ': ' ' };
        if (e in simple) {
          out += simple[e];
          i += 2;
        } else if (e === 'u') {
          out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
          i += 6;
        } else fail(`unsupported escape \\${e}`);
        continue;
      }
      if (c === '"') return { value: out, end: i + 1 };
      out += c;
      i++;
    }
  }
}

function plainScalar(t) {
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null' || t === '~') return null;
  if (/^[-+]?(0|[1-9]\d*)$/.test(t)) return Number(t);
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
  return t;
}

function fold(lines) {
  let out = '';
  lines.forEach((l, i) => {
    if (i === 0) out = l;
    else if (l === '' || lines[i - 1] === '') out += '\n' + l;
    else out += ' ' + l;
  });
  return out;
}

class FlowReader {
  constructor(s, fail) {
    this.s = s;
    this.i = 0;
    this.fail = fail;
  }
  ws() {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }
  end() {
    this.ws();
    if (this.i !== this.s.length) this.fail(`unexpected ${JSON.stringify(this.s.slice(this.i))} after flow collection`);
  }
  value() {
    this.ws();
    const c = this.s[this.i];
    if (c === '[') return this.seq();
    if (c === '{') return this.map();
    if (c === '"' || c === "'") {
      const { value, end } = readQuoted(this.s, this.i, this.fail);
      this.i = end;
      return value;
    }
    const m = /^[^,\]}]*/.exec(this.s.slice(this.i));
    this.i += m[0].length;
    return plainScalar(m[0].trim());
  }
  seq() {
    this.i++;
    const out = [];
    for (;;) {
      this.ws();
      if (this.s[this.i] === ']') {
        this.i++;
        return out;
      }
      out.push(this.value());
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== ']') this.fail('expected , or ] in flow sequence');
    }
  }
  map() {
    this.i++;
    const out = {};
    for (;;) {
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return out;
      }
      let key;
      if (this.s[this.i] === '"' || this.s[this.i] === "'") {
        const q = readQuoted(this.s, this.i, this.fail);
        key = q.value;
        this.i = q.end;
      } else {
        const m = /^[^:,}]+/.exec(this.s.slice(this.i));
        if (!m) this.fail('expected a key in flow mapping');
        key = m[0].trim();
        this.i += m[0].length;
      }
      this.ws();
      if (this.s[this.i] !== ':') this.fail(`expected : after ${key}`);
      this.i++;
      out[key] = this.value();
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== '}') this.fail('expected , or } in flow mapping');
    }
  }
}
