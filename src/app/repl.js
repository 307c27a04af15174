// repl.js: the module `nano repl` runs in place of an app's code. Each request body is one input, evaluated in the
// isolate's global scope; the answer is JSON `{ out, value, error }` (console output since the last input, the
// result as node's REPL prints it, or the uncaught error). Input holding `await` runs inside an async function, as
// node's REPL does; top-level `let`/`const`/`class`/`function` declarations become globals so later inputs see them.
// An input's request never finishes (its `waitUntil` never settles): what the input started (a fetched body, a
// stream, a timer) belongs to that request, and the host releases a request's resources when it finishes, so an
// input's request stays open for the session and a later input can still read the body or see the timer fire.
const globalEval = eval;
let out = [];

function quote(s) {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}
function key(k) {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k);
}
function errorText(e) {
  if (e && typeof e === 'object' && 'message' in e) {
    const head = `${e.name || 'Error'}: ${e.message}`;
    const stack = e.stack ? String(e.stack) : '';
    return stack.startsWith(head) ? stack : stack ? `${head}\n${stack}` : head;
  }
  return inspect(e);
}
function inspect(v, depth = 0, seen = new Set()) {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return v.toString().startsWith('class') ? `[class ${v.name || '(anonymous)'}]` : `[Function: ${v.name || '(anonymous)'}]`;
  if (typeof v === 'symbol' || v === null || typeof v !== 'object') return Object.is(v, -0) ? '-0' : String(v);
  if (v instanceof Error) return errorText(v);
  if (seen.has(v)) return '[Circular]';
  if (depth > 3) return Array.isArray(v) ? '[Array]' : '[Object]';
  seen.add(v);
  const nest = (x) => inspect(x, depth + 1, seen);
  let text;
  if (Array.isArray(v)) text = v.length ? `[ ${v.map(nest).join(', ')} ]` : '[]';
  else if (v instanceof Promise) text = 'Promise { <pending> }';
  else if (v instanceof Map) text = `Map(${v.size}) { ${[...v].map(([k, x]) => `${nest(k)} => ${nest(x)}`).join(', ')} }`;
  else if (v instanceof Set) text = `Set(${v.size}) { ${[...v].map(nest).join(', ')} }`;
  else if (v instanceof Date) text = isNaN(v) ? 'Invalid Date' : v.toISOString();
  else if (v instanceof RegExp) text = String(v);
  else if (ArrayBuffer.isView(v)) text = `${v.constructor.name}(${v.length}) [ ${Array.from(v).slice(0, 100).join(', ')} ]`;
  else {
    const name = v.constructor && v.constructor !== Object && v.constructor.name ? `${v.constructor.name} ` : '';
    const entries = Object.keys(v).map((k) => `${key(k)}: ${nest(v[k])}`);
    text = entries.length ? `${name}{ ${entries.join(', ')} }` : `${name}{}`;
  }
  seen.delete(v);
  return text;
}
const logLine = (args) => args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' ');
for (const level of ['log', 'info', 'debug', 'warn', 'error', 'trace', 'dir', 'table']) {
  console[level] = (...args) => { out.push(logLine(args)); };
}

// Top-level statements of `src`: [start, end) offsets, found by scanning past strings, templates, comments,
// regular expressions and brackets. A statement ends at `;` or at a line break where the line is complete.
function statements(src) {
  const list = [];
  let depth = 0, start = 0, i = 0, last = '', awaits = false;
  const templates = [];
  const push = (end) => { if (src.slice(start, end).trim()) list.push([start, end]); start = end; };
  const CONTINUES = ',([{=+-*/%.?:&|!<>^~';
  while (i < src.length) {
    const c = src[i];
    if (c === '/' && src[i + 1] === '/') { while (i < src.length && src[i] !== '\n') i++; continue; }
    if (c === '/' && src[i + 1] === '*') { const e = src.indexOf('*/', i + 2); i = e < 0 ? src.length : e + 2; continue; }
    if (c === '"' || c === "'") {
      i++;
      while (i < src.length && src[i] !== c && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1;
      i++; last = 'a'; continue;
    }
    if (c === '`' || (c === '}' && templates.length && templates[templates.length - 1] === depth)) {
      if (c === '}') { templates.pop(); depth--; }
      i++;
      while (i < src.length && src[i] !== '`' && !(src[i] === '$' && src[i + 1] === '{')) i += src[i] === '\\' ? 2 : 1;
      if (src[i] === '$') { depth++; templates.push(depth); i += 2; last = '{'; } else { i++; last = 'a'; }
      continue;
    }
    if (c === '/' && (last === '' || CONTINUES.includes(last) || last === ';' || last === '}' || last === 'k')) {
      i++;
      let cls = false;
      while (i < src.length && src[i] !== '\n' && (cls || src[i] !== '/')) {
        if (src[i] === '[') cls = true; else if (src[i] === ']') cls = false;
        i += src[i] === '\\' ? 2 : 1;
      }
      i++;
      while (/[a-z]/.test(src[i] || '')) i++;
      last = 'a'; continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      let j = i;
      while (j < src.length && /[\w$]/.test(src[j])) j++;
      const word = src.slice(i, j);
      if (word === 'await') awaits = true;
      last = ['return', 'typeof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'instanceof', 'yield', 'await'].includes(word) ? 'k' : 'a';
      i = j; continue;
    }
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    if (depth === 0 && c === ';') { i++; push(i); last = ';'; continue; }
    if (depth === 0 && c === '\n' && last !== '' && !CONTINUES.includes(last)) {
      const next = src.slice(i).match(/\S/);
      if (!next || !'.?:,)]}=+-*/%&|<>^'.includes(next[0])) { push(i); last = ''; i++; continue; }
    }
    if (!/\s/.test(c)) last = c === ')' || c === ']' ? 'a' : c;
    i++;
  }
  push(src.length);
  return { list, awaits };
}

// The names a `let`/`const`/`var` declaration binds (identifiers of patterns, not their property keys or defaults).
function declaredNames(decl) {
  const names = [];
  let depth = 0, expectName = true;
  const re = /[A-Za-z_$][\w$]*|\.\.\.|'(?:\\.|[^'])*'|"(?:\\.|[^"])*"|`(?:\\.|[^`])*`|\S/g;
  let m;
  let skipping = false; // inside an initializer at pattern level 0, or a default value inside a pattern
  let initDepth = 0;
  while ((m = re.exec(decl))) {
    const t = m[0];
    if (skipping) {
      if ('([{'.includes(t)) depth++;
      else if (')]}'.includes(t)) {
        if (depth === initDepth) { skipping = false; depth--; expectName = false; continue; }
        depth--;
      } else if (t === ',' && depth === initDepth) { skipping = false; expectName = true; }
      continue;
    }
    if (t === '{' || t === '[') { depth++; expectName = true; continue; }
    if (t === '}' || t === ']') { depth--; expectName = false; continue; }
    if (t === ',') { expectName = true; continue; }
    if (t === '=') { skipping = true; initDepth = depth; continue; }
    if (t === ':') { expectName = true; continue; }
    if (t === '...') continue;
    if (/^[A-Za-z_$]/.test(t) && expectName) {
      const after = decl.slice(re.lastIndex).match(/^\s*(\S)/);
      if (after && after[1] === ':') continue;
      names.push(t);
      expectName = false;
    }
  }
  return names;
}

const NO_VALUE = /^(let|const|var|class|function|async\s+function|if|for|while|do|try|switch|return|throw|import|export|\{)(?![\w$])/;

// Rewrites `src` so it can run as the body of an async function whose declarations land on the global object:
// returns [code for indirect eval that declares the names, the function body].
function asyncForm(src, list) {
  const hoisted = [];
  let body = '';
  let prev = 0;
  list.forEach(([s, e], n) => {
    body += src.slice(prev, s);
    prev = e;
    let stmt = src.slice(s, e);
    const lead = stmt.match(/^\s*/)[0];
    let text = stmt.slice(lead.length).replace(/;\s*$/, '');
    let m;
    if ((m = text.match(/^(let|const|var)\s+/))) {
      const decl = text.slice(m[0].length);
      hoisted.push(...declaredNames(decl));
      text = /^[{[]/.test(decl) ? `(${decl}\n)` : `void (${decl}\n)`;
      if (/^void \(\s*[A-Za-z_$][\w$]*\s*(,\s*[A-Za-z_$][\w$]*\s*)*\)$/.test(text)) text = 'void 0';
    } else if ((m = text.match(/^class\s+([A-Za-z_$][\w$]*)/))) {
      hoisted.push(m[1]);
      text = `${m[1]} = ${text}`;
    } else if ((m = text.match(/^(async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)/))) {
      hoisted.push(m[2]);
      body = `globalThis.${m[2]} = ${m[2]};\n` + body;
    } else if (n === list.length - 1 && !NO_VALUE.test(text)) {
      text = `return (${text}\n)`;
    }
    body += `${lead}${text};`;
  });
  return [hoisted.length ? `var ${[...new Set(hoisted)].join(', ')};` : '', body];
}

// Rewrites top-level `let`/`const` to `var` and `class C` to `var C = class C`, so an indirect eval keeps them.
function syncForm(src, list) {
  let code = '';
  let prev = 0;
  for (const [s, e] of list) {
    code += src.slice(prev, s);
    prev = e;
    const stmt = src.slice(s, e);
    const lead = stmt.match(/^\s*/)[0];
    let text = stmt.slice(lead.length);
    let m;
    if ((m = text.match(/^(let|const)(\s+)/))) text = `var${m[2]}${text.slice(m[0].length)}`;
    else if ((m = text.match(/^class\s+([A-Za-z_$][\w$]*)/))) text = `var ${m[1]} = ${text.replace(/;?\s*$/, ';')}`;
    code += lead + text;
  }
  return code + src.slice(prev);
}

async function evaluate(src) {
  const { list, awaits } = statements(src);
  if (!awaits) {
    const trimmed = src.trim();
    if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
      try { return globalEval(`(${trimmed})`); } catch (e) { if (!(e instanceof SyntaxError)) throw e; }
    }
    const code = syncForm(src, list);
    try {
      return globalEval(code);
    } catch (e) {
      if (!(e instanceof SyntaxError) || code === src) throw e;
      return globalEval(src);
    }
  }
  const [declare, body] = asyncForm(src, list);
  let run;
  try {
    run = globalEval(`(async () => {\n${body}\n})`);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    // The rewrite misread the input: run it as written (declarations stay local then).
    run = globalEval(`(async () => {\n${src}\n})`);
  }
  if (declare) globalEval(declare);
  return await run();
}

export default {
  async fetch(request, env, ctx) {
    ctx.waitUntil(new Promise(() => {}));
    globalThis.env = env;
    globalThis.ctx = ctx;
    const src = await request.text();
    let value, error;
    try {
      const result = await evaluate(src);
      if (result !== undefined || !/^\s*(let|const|var|class|function|async\s+function)\b/.test(src)) globalThis._ = result;
      value = inspect(result);
    } catch (e) {
      error = `Uncaught ${e instanceof Error ? `${e.name || 'Error'}: ${e.message}` : inspect(e)}`;
    }
    const lines = out;
    out = [];
    return Response.json({ out: lines, value: error === undefined ? value : null, error: error ?? null });
  },
};
