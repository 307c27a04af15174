// urlpattern.js: URLPattern (https://urlpattern.spec.whatwg.org/): the pattern tokenizer and parser, the
// constructor string parser, URLPatternInit processing, per-component regular expressions and match results.
const UP_COMPONENTS = ['protocol', 'username', 'password', 'hostname', 'port', 'pathname', 'search', 'hash'];
// Patterns' regular expressions take the `v` flag (class set operations). QuickJS's `v` refuses a `-` or `::`
// outside a class, so there a pattern it refuses is compiled again with `u`.
const UP_V_WHOLE = (() => {
  try { return new RegExp('^[[a-z]--a]-\\[::\\]$', 'v').test('b-[::]'); } catch { return false; }
})();
function upRegExp(source, ignoreCase) {
  const i = ignoreCase ? 'i' : '';
  try { return new RegExp(source, i + 'v'); } catch (e) {
    if (UP_V_WHOLE) throw e;
    return new RegExp(source, i + 'u');
  }
}
const UP_SPECIAL = { 'ftp': '21', 'file': '', 'http': '80', 'https': '443', 'ws': '80', 'wss': '443' };
const UP_DEFAULT_OPTIONS = { delimiter: '', prefix: '' };
const UP_HOSTNAME_OPTIONS = { delimiter: '.', prefix: '' };
const UP_PATHNAME_OPTIONS = { delimiter: '/', prefix: '/' };
const upIdStart = /[$_\p{ID_Start}]/u;
const upIdContinue = /[$_\u200C\u200D\p{ID_Continue}]/u;
const upAscii = /^[\x00-\x7F]*$/;

function upValidNameCodePoint(c, first) { return (first ? upIdStart : upIdContinue).test(c); }
function upEscapeRegexp(s) { return s.replace(/[.+*?^${}()[\]|/\\]/g, '\\$&'); }
function upEscapePattern(s) { return s.replace(/[+*?:{}()\\]/g, '\\$&'); }
function upModifierString(m) { return m === 'optional' ? '?' : m === 'zero-or-more' ? '*' : m === 'one-or-more' ? '+' : ''; }
function upSegmentWildcard(options) { return `[^${upEscapeRegexp(options.delimiter)}]+?`; }
function upError(msg) { return new TypeError(`Invalid URLPattern: ${msg}`); }

// Tokenizer: `strict` throws on an invalid character; `lenient` (the constructor string parser) records it.
function upTokenize(input, strict) {
  const tokens = [];
  const cps = Array.from(input);
  const at = [];
  for (let i = 0, off = 0; i < cps.length; i++) { at.push(off); off += cps[i].length; }
  at.push(input.length);
  const push = (type, i, next, value) => { tokens.push({ type, index: at[i], value }); return next; };
  const invalid = (i, next, msg) => {
    if (strict) throw upError(`${msg} at index ${at[i]} of "${input}"`);
    return push('invalid-char', i, next, cps[i]);
  };
  let i = 0;
  while (i < cps.length) {
    const c = cps[i];
    if (c === '*') { i = push('asterisk', i, i + 1, c); continue; }
    if (c === '+' || c === '?') { i = push('other-modifier', i, i + 1, c); continue; }
    if (c === '\\') {
      if (i === cps.length - 1) { i = invalid(i, i + 1, 'trailing backslash'); continue; }
      i = push('escaped-char', i, i + 2, cps[i + 1]);
      continue;
    }
    if (c === '{') { i = push('open', i, i + 1, c); continue; }
    if (c === '}') { i = push('close', i, i + 1, c); continue; }
    if (c === ':') {
      let pos = i + 1;
      while (pos < cps.length && upValidNameCodePoint(cps[pos], pos === i + 1)) pos++;
      if (pos === i + 1) { i = invalid(i, i + 1, 'missing group name'); continue; }
      i = push('name', i, pos, cps.slice(i + 1, pos).join(''));
      continue;
    }
    if (c === '(') {
      let depth = 1, pos = i + 1, bad = null;
      while (pos < cps.length) {
        const d = cps[pos];
        if (!upAscii.test(d)) { bad = 'non-ASCII character in a regexp group'; break; }
        if (pos === i + 1 && d === '?') { bad = 'regexp group starting with "?"'; break; }
        if (d === '\\') {
          if (pos === cps.length - 1) { bad = 'trailing backslash in a regexp group'; break; }
          if (!upAscii.test(cps[pos + 1])) { bad = 'non-ASCII character in a regexp group'; break; }
          pos += 2;
          continue;
        }
        if (d === ')') { depth--; if (depth === 0) { pos++; break; } }
        else if (d === '(') {
          depth++;
          if (pos === cps.length - 1) { bad = 'unbalanced regexp group'; break; }
          if (cps[pos + 1] !== '?') { bad = 'capturing group inside a regexp group'; break; }
        }
        pos++;
      }
      if (!bad && depth !== 0) bad = 'unbalanced regexp group';
      if (!bad && pos - i - 2 <= 0) bad = 'empty regexp group';
      if (bad) { i = invalid(i, i + 1, bad); continue; }
      i = push('regexp', i, pos, cps.slice(i + 1, pos - 1).join(''));
      continue;
    }
    i = push('char', i, i + 1, c);
  }
  tokens.push({ type: 'end', index: input.length, value: '' });
  return tokens;
}

// Pattern parser: a pattern string to its list of parts.
function upParse(input, options, encode) {
  const tokens = upTokenize(input, true);
  const parts = [];
  let pending = '', index = 0, nextNumeric = 0;
  const tryConsume = (type) => (index < tokens.length && tokens[index].type === type ? tokens[index++] : null);
  const tryModifier = () => tryConsume('other-modifier') || tryConsume('asterisk');
  const tryRegexpOrWildcard = (name) => { const t = tryConsume('regexp'); return t || name ? t : tryConsume('asterisk'); };
  const consumeRequired = (type) => {
    const t = tryConsume(type);
    if (!t) { const got = tokens[index]; throw upError(`expected ${type}, got ${got.type} at index ${got.index} of "${input}"`); }
    return t;
  };
  const consumeText = () => {
    let out = '';
    for (;;) { const t = tryConsume('char') || tryConsume('escaped-char'); if (!t) return out; out += t.value; }
  };
  const flushPending = () => {
    if (pending === '') return;
    const encoded = encode(pending);
    pending = '';
    if (encoded !== '') parts.push({ type: 'fixed', value: encoded, modifier: 'none', name: '', prefix: '', suffix: '' });
  };
  const addPart = (prefix, nameToken, rw, suffix, modToken) => {
    const modifier = !modToken ? 'none' : modToken.value === '?' ? 'optional' : modToken.value === '*' ? 'zero-or-more' : 'one-or-more';
    if (!nameToken && !rw && modifier === 'none') { pending += prefix; return; }
    flushPending();
    if (!nameToken && !rw) {
      if (prefix === '') return;
      parts.push({ type: 'fixed', value: encode(prefix), modifier, name: '', prefix: '', suffix: '' });
      return;
    }
    let value = !rw ? upSegmentWildcard(options) : rw.type === 'asterisk' ? '.*' : rw.value;
    let type = 'regexp';
    if (value === upSegmentWildcard(options)) { type = 'segment-wildcard'; value = ''; }
    else if (value === '.*') { type = 'full-wildcard'; value = ''; }
    const name = nameToken ? nameToken.value : String(nextNumeric++);
    if (parts.some((p) => p.type !== 'fixed' && p.name === name)) throw upError(`duplicate group name "${name}" in "${input}"`);
    parts.push({ type, value, modifier, name, prefix: encode(prefix), suffix: encode(suffix) });
  };
  while (index < tokens.length) {
    const charToken = tryConsume('char');
    let nameToken = tryConsume('name');
    let rw = tryRegexpOrWildcard(nameToken);
    if (nameToken || rw) {
      let prefix = charToken ? charToken.value : '';
      if (prefix !== '' && prefix !== options.prefix) { pending += prefix; prefix = ''; }
      flushPending();
      addPart(prefix, nameToken, rw, '', tryModifier());
      continue;
    }
    const fixed = charToken || tryConsume('escaped-char');
    if (fixed) { pending += fixed.value; continue; }
    if (tryConsume('open')) {
      const prefix = consumeText();
      nameToken = tryConsume('name');
      rw = tryRegexpOrWildcard(nameToken);
      const suffix = consumeText();
      consumeRequired('close');
      addPart(prefix, nameToken, rw, suffix, tryModifier());
      continue;
    }
    flushPending();
    consumeRequired('end');
  }
  return parts;
}

function upRegexp(parts, options) {
  let out = '^';
  const names = [];
  for (const part of parts) {
    const mod = upModifierString(part.modifier);
    if (part.type === 'fixed') {
      out += part.modifier === 'none' ? upEscapeRegexp(part.value) : `(?:${upEscapeRegexp(part.value)})${mod}`;
      continue;
    }
    names.push(part.name);
    const value = part.type === 'segment-wildcard' ? upSegmentWildcard(options) : part.type === 'full-wildcard' ? '.*' : part.value;
    const single = part.modifier === 'none' || part.modifier === 'optional';
    if (part.prefix === '' && part.suffix === '') {
      out += single ? `(${value})${mod}` : `((?:${value})${mod})`;
      continue;
    }
    const pre = upEscapeRegexp(part.prefix), suf = upEscapeRegexp(part.suffix);
    if (single) { out += `(?:${pre}(${value})${suf})${mod}`; continue; }
    out += `(?:${pre}((?:${value})(?:${suf}${pre}(?:${value}))*)${suf})`;
    if (part.modifier === 'zero-or-more') out += '?';
  }
  return { source: out + '$', names };
}

function upPatternString(parts, options) {
  let out = '';
  const isNumeric = (name) => name.length > 0 && name[0] >= '0' && name[0] <= '9';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i], prev = parts[i - 1] || null, next = parts[i + 1] || null;
    const mod = upModifierString(part.modifier);
    if (part.type === 'fixed') {
      out += part.modifier === 'none' ? upEscapePattern(part.value) : `{${upEscapePattern(part.value)}}${mod}`;
      continue;
    }
    const custom = !isNumeric(part.name);
    let grouping = part.suffix !== '' || (part.prefix !== '' && part.prefix !== options.prefix);
    if (!grouping && custom && part.type === 'segment-wildcard' && part.modifier === 'none' && next && next.prefix === '' && next.suffix === '') {
      grouping = next.type === 'fixed' ? upValidNameCodePoint(Array.from(next.value)[0] || '', false) : isNumeric(next.name);
    }
    if (!grouping && part.prefix === '' && prev && prev.type === 'fixed' && prev.value.endsWith(options.prefix) && options.prefix !== '') grouping = true;
    if (grouping) out += '{';
    out += upEscapePattern(part.prefix);
    if (custom) out += ':' + part.name;
    if (part.type === 'regexp') out += `(${part.value})`;
    else if (part.type === 'segment-wildcard' && !custom) out += `(${upSegmentWildcard(options)})`;
    else if (part.type === 'full-wildcard') {
      out += !custom && (!prev || prev.type === 'fixed' || prev.modifier !== 'none' || grouping || part.prefix !== '') ? '*' : '(.*)';
    }
    if (part.type === 'segment-wildcard' && custom && part.suffix !== '' && upValidNameCodePoint(Array.from(part.suffix)[0], false)) out += '\\';
    out += upEscapePattern(part.suffix);
    if (grouping) out += '}';
    out += mod;
  }
  return out;
}

// A URL's parts straight from the host's parser (no URL object, no search params), or null.
function upParseURL(s, base) {
  const p = base === undefined ? ops.urlParse(s) : ops.urlParse(s, base);
  return p && { protocol: p[1], username: p[2], password: p[3], hostname: p[5], port: p[6], pathname: p[7], search: p[8], hash: p[9] };
}
// One URL setter run strictly on a dummy URL (the spec's "basic URL parse with a state override"): the part it
// stores, at `index` of the parts, or a TypeError when the parser fails.
function upSetter(href, part, index, v) {
  try { return ops.urlSet(href, part, v, true)[index]; } catch { throw upError(`invalid ${part} "${v}"`); }
}
// Text the URL parser leaves as it is, checked first so that common patterns skip a parse.
const UP_PLAIN_SCHEME = /^[a-z][a-z0-9+.-]*$/;
const UP_PLAIN_HOST = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?$/;
const UP_NUMERIC_LABEL = /(?:^|\.)(?:0x[0-9a-f]*|[0-9]+)\.?$/;
const UP_PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const UP_DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;
const UP_PLAIN_QUERY = /^[A-Za-z0-9\-._~!$&()*+,;=:@/?]*$/;

// Canonicalization (the "encoding callbacks"), done with the URL parser.
function upCanonProtocol(v) {
  if (v === '' || UP_PLAIN_SCHEME.test(v)) return v;
  const u = upParseURL(v + '://dummy.test');
  if (!u) throw upError(`invalid protocol "${v}"`);
  return u.protocol.slice(0, -1);
}
function upCanonUserinfo(part, v) {
  if (v === '') return v;
  const u = new URL('http://dummy.test');
  u[part] = v;
  return u[part];
}
function upCanonUsername(v) { return upCanonUserinfo('username', v); }
function upCanonPassword(v) { return upCanonUserinfo('password', v); }
function upCanonHostname(v) {
  if (v === '') return v;
  if (UP_PLAIN_HOST.test(v) && !UP_NUMERIC_LABEL.test(v) && !v.includes('xn--')) return v;
  return upSetter('http://dummy.test/', 'hostname', 5, v);
}
function upCanonIPv6(v) {
  let out = '';
  for (const c of v) {
    if (!/[0-9a-fA-F[\]:]/.test(c)) throw upError(`invalid IPv6 hostname "${v}"`);
    out += c.toLowerCase();
  }
  return out;
}
function upCanonPort(v, protocol) {
  if (v === '') return v;
  const special = protocol !== undefined && protocol !== 'file' && UP_SPECIAL[protocol] !== undefined;
  return upSetter(special ? `${protocol}://dummy.test/` : 'dummy://dummy.test/', 'port', 6, v);
}
function upCanonPortOnly(v) { return upCanonPort(v); }
function upCanonPathname(v) {
  if (v === '' || (UP_PLAIN_PATH.test(v) && !UP_DOT_SEGMENT.test(v) && !/^\.\.?$/.test(v))) return v;
  const slash = v[0] === '/';
  const u = upParseURL('http://dummy.test' + (slash ? '' : '/-') + v.replace(/\?/g, '%3F').replace(/#/g, '%23'));
  if (!u) throw upError(`invalid pathname "${v}"`);
  return slash ? u.pathname : u.pathname.slice(2);
}
function upCanonOpaquePathname(v) {
  if (v === '') return v;
  let out = '';
  for (const c of v) {
    const cp = c.codePointAt(0);
    out += cp < 0x20 || cp > 0x7e ? Array.from(utf8(c), (b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('') : c;
  }
  return out;
}
function upCanonSearch(v) {
  if (v === '' || UP_PLAIN_QUERY.test(v)) return v;
  const u = upParseURL('http://dummy.test/?' + v.replace(/#/g, '%23'));
  if (!u) throw upError(`invalid search "${v}"`);
  return u.search.slice(1);
}
function upCanonHash(v) {
  if (v === '' || UP_PLAIN_QUERY.test(v)) return v;
  const u = upParseURL('http://dummy.test/#' + v);
  if (!u) throw upError(`invalid hash "${v}"`);
  return u.hash.slice(1);
}

// Compiled components by pattern, options and encoding (most patterns repeat `*` and a few common strings); a
// component holds no state between matches, so patterns may share one.
const upCache = new Map();
function upCompile(input, encode, options, ignoreCase) {
  const key = `${encode.name}\u0000${options.delimiter}${options.prefix}${ignoreCase ? 'i' : ''}\u0000${input}`;
  let c = upCache.get(key);
  if (c) return c;
  c = upCompileUncached(input, encode, options, ignoreCase);
  if (upCache.size >= 512) upCache.delete(upCache.keys().next().value);
  upCache.set(key, c);
  return c;
}
function upCompileUncached(input, encode, options, ignoreCase) {
  const parts = upParse(input, options, encode);
  const { source, names } = upRegexp(parts, options);
  let regexp;
  try { regexp = upRegExp(source, ignoreCase); } catch (e) { throw upError(`${e.message} in "${input}"`); }
  return { regexp, names, pattern: upPatternString(parts, options), hasRegexpGroups: parts.some((p) => p.type === 'regexp') };
}
function upMatchesSpecialScheme(component) {
  return Object.keys(UP_SPECIAL).some((s) => component.regexp.test(s));
}

// The constructor string parser: a whole-URL pattern string to a URLPatternInit.
function upParseConstructorString(input) {
  const tokens = upTokenize(input, false);
  const result = {};
  let index = 0, increment = 1, start = 0, state = 'init', groupDepth = 0, ipv6Depth = 0, standard = false;
  const safe = (i) => tokens[Math.min(Math.max(i, 0), tokens.length - 1)];
  const isChar = (i, value) => {
    const t = safe(i);
    return t.value === value && (t.type === 'char' || t.type === 'escaped-char' || t.type === 'invalid-char');
  };
  const componentString = () => input.substring(safe(start).index, tokens[index].index);
  const change = (next, skip) => {
    if (state !== 'init' && state !== 'authority' && state !== 'done') result[state] = componentString();
    if (state !== 'init' && next !== 'done') {
      const before = (list) => list.includes(state);
      if (before(['protocol', 'authority', 'username', 'password']) && ['port', 'pathname', 'search', 'hash'].includes(next) && result.hostname === undefined) result.hostname = '';
      if (before(['protocol', 'authority', 'username', 'password', 'hostname', 'port']) && (next === 'search' || next === 'hash') && result.pathname === undefined) result.pathname = standard ? '/' : '';
      if (before(['protocol', 'authority', 'username', 'password', 'hostname', 'port', 'pathname']) && next === 'hash' && result.search === undefined) result.search = '';
    }
    state = next;
    index += skip;
    start = index;
    increment = 0;
  };
  const rewind = () => { index = start; increment = 0; };
  const rewindTo = (s) => { rewind(); state = s; };
  const isSearchPrefix = () => {
    if (isChar(index, '?')) return true;
    if (tokens[index].value !== '?') return false;
    const prev = safe(index - 1).type;
    return prev !== 'name' && prev !== 'regexp' && prev !== 'close' && prev !== 'asterisk';
  };
  for (; index < tokens.length; index += increment) {
    increment = 1;
    const t = tokens[index];
    if (t.type === 'end') {
      if (state === 'init') {
        rewind();
        if (isChar(index, '#')) change('hash', 1);
        else if (isSearchPrefix()) change('search', 1);
        else change('pathname', 0);
        continue;
      }
      if (state === 'authority') { rewindTo('hostname'); continue; }
      change('done', 0);
      break;
    }
    if (groupDepth > 0) {
      if (t.type === 'close') groupDepth--;
      else continue;
    }
    if (t.type === 'open') { groupDepth++; continue; }
    switch (state) {
      case 'init':
        if (isChar(index, ':')) rewindTo('protocol');
        break;
      case 'protocol':
        if (isChar(index, ':')) {
          standard = upMatchesSpecialScheme(upCompile(componentString(), upCanonProtocol, UP_DEFAULT_OPTIONS, false));
          if (isChar(index + 1, '/') && isChar(index + 2, '/')) change('authority', 3);
          else change(standard ? 'authority' : 'pathname', 1);
        }
        break;
      case 'authority':
        if (isChar(index, '@')) rewindTo('username');
        else if (isChar(index, '/') || isSearchPrefix() || isChar(index, '#')) rewindTo('hostname');
        break;
      case 'username':
        if (isChar(index, ':')) change('password', 1);
        else if (isChar(index, '@')) change('hostname', 1);
        break;
      case 'password':
        if (isChar(index, '@')) change('hostname', 1);
        break;
      case 'hostname':
        if (isChar(index, '[')) ipv6Depth++;
        else if (isChar(index, ']')) ipv6Depth--;
        else if (isChar(index, ':') && ipv6Depth === 0) change('port', 1);
        else if (isChar(index, '/')) change('pathname', 0);
        else if (isSearchPrefix()) change('search', 1);
        else if (isChar(index, '#')) change('hash', 1);
        break;
      case 'port':
        if (isChar(index, '/')) change('pathname', 0);
        else if (isSearchPrefix()) change('search', 1);
        else if (isChar(index, '#')) change('hash', 1);
        break;
      case 'pathname':
        if (isSearchPrefix()) change('search', 1);
        else if (isChar(index, '#')) change('hash', 1);
        break;
      case 'search':
        if (isChar(index, '#')) change('hash', 1);
        break;
    }
  }
  if (result.hostname !== undefined && result.port === undefined) result.port = '';
  return result;
}

// Processes a URLPatternInit: `pattern` keeps pattern syntax, `url` canonicalizes as a URL would.
function upProcessInit(init, type, defaults) {
  const result = Object.assign({}, defaults);
  const has = (k) => init[k] !== undefined && init[k] !== null;
  const str = (k) => String(init[k]);
  const fromBase = (v) => (type === 'pattern' ? upEscapePattern(v) : v);
  let base = null;
  if (has('baseURL')) {
    base = upParseURL(str('baseURL'));
    if (!base) throw new TypeError(`Invalid baseURL: ${str('baseURL')}`);
    const none = (...ks) => ks.every((k) => !has(k));
    if (none('protocol')) result.protocol = fromBase(base.protocol.slice(0, -1));
    if (type !== 'pattern' && none('protocol', 'hostname', 'port', 'username')) result.username = fromBase(base.username);
    if (type !== 'pattern' && none('protocol', 'hostname', 'port', 'username', 'password')) result.password = fromBase(base.password);
    if (none('protocol', 'hostname')) result.hostname = fromBase(base.hostname);
    if (none('protocol', 'hostname', 'port')) result.port = fromBase(base.port);
    if (none('protocol', 'hostname', 'port', 'pathname')) result.pathname = fromBase(base.pathname);
    if (none('protocol', 'hostname', 'port', 'pathname', 'search')) result.search = fromBase(base.search.replace(/^\?/, ''));
    if (none('protocol', 'hostname', 'port', 'pathname', 'search', 'hash')) result.hash = fromBase(base.hash.replace(/^#/, ''));
  }
  const url = type !== 'pattern';
  if (has('protocol')) { const v = str('protocol').replace(/:$/, ''); result.protocol = url ? upCanonProtocol(v) : v; }
  if (has('username')) result.username = url ? upCanonUsername(str('username')) : str('username');
  if (has('password')) result.password = url ? upCanonPassword(str('password')) : str('password');
  if (has('hostname')) result.hostname = url ? upCanonHostname(str('hostname')) : str('hostname');
  if (has('port')) result.port = url ? upCanonPort(str('port'), result.protocol) : str('port');
  if (has('pathname')) {
    let p = str('pathname');
    const absolute = p !== '' && (p[0] === '/' || (!url && (p.startsWith('\\/') || p.startsWith('{/'))));
    if (base && base.pathname.startsWith('/') && !absolute) {
      const basePath = fromBase(base.pathname);
      const slash = basePath.lastIndexOf('/');
      if (slash >= 0) p = basePath.slice(0, slash + 1) + p;
    }
    if (url) p = result.protocol === '' || UP_SPECIAL[result.protocol] !== undefined ? upCanonPathname(p) : upCanonOpaquePathname(p);
    result.pathname = p;
  }
  if (has('search')) { const v = str('search').replace(/^\?/, ''); result.search = url ? upCanonSearch(v) : v; }
  if (has('hash')) { const v = str('hash').replace(/^#/, ''); result.hash = url ? upCanonHash(v) : v; }
  return result;
}

class URLPattern {
  #c = {};
  constructor(input = {}, baseURL = undefined, options = undefined) {
    if (baseURL !== undefined && baseURL !== null && typeof baseURL === 'object') { options = baseURL; baseURL = undefined; }
    const ignoreCase = !!(options && options.ignoreCase);
    let init;
    if (typeof input === 'string') {
      init = upParseConstructorString(input);
      if (baseURL === undefined && init.protocol === undefined) throw new TypeError(`Invalid URLPattern: relative pattern "${input}" needs a base URL`);
      if (baseURL !== undefined) init.baseURL = String(baseURL);
    } else {
      if (input === null || typeof input !== 'object') throw new TypeError('URLPattern input must be a string or a URLPatternInit object');
      if (baseURL !== undefined) throw new TypeError('URLPattern takes a base URL only with a pattern string');
      init = input;
    }
    const p = upProcessInit(init, 'pattern', {});
    for (const k of UP_COMPONENTS) if (p[k] === undefined) p[k] = '*';
    if (UP_SPECIAL[p.protocol] !== undefined && UP_SPECIAL[p.protocol] === p.port) p.port = '';
    const c = this.#c;
    c.protocol = upCompile(p.protocol, upCanonProtocol, UP_DEFAULT_OPTIONS, ignoreCase);
    c.username = upCompile(p.username, upCanonUsername, UP_DEFAULT_OPTIONS, ignoreCase);
    c.password = upCompile(p.password, upCanonPassword, UP_DEFAULT_OPTIONS, ignoreCase);
    const ipv6 = p.hostname.startsWith('[') || p.hostname.startsWith('{[') || p.hostname.startsWith('\\[');
    c.hostname = upCompile(p.hostname, ipv6 ? upCanonIPv6 : upCanonHostname, UP_HOSTNAME_OPTIONS, ignoreCase);
    c.port = upCompile(p.port, upCanonPortOnly, UP_DEFAULT_OPTIONS, ignoreCase);
    c.pathname = upMatchesSpecialScheme(c.protocol)
      ? upCompile(p.pathname, upCanonPathname, UP_PATHNAME_OPTIONS, ignoreCase)
      : upCompile(p.pathname, upCanonOpaquePathname, UP_DEFAULT_OPTIONS, ignoreCase);
    c.search = upCompile(p.search, upCanonSearch, UP_DEFAULT_OPTIONS, ignoreCase);
    c.hash = upCompile(p.hash, upCanonHash, UP_DEFAULT_OPTIONS, ignoreCase);
  }
  #match(input, baseURL) {
    const inputs = [input];
    let values;
    if (input instanceof URL) input = input.href;
    if (typeof input === 'string') {
      const url = upParseURL(String(input), baseURL === undefined ? undefined : String(baseURL));
      if (!url) return null;
      if (baseURL !== undefined) inputs.push(String(baseURL));
      values = {
        protocol: url.protocol.slice(0, -1), username: url.username, password: url.password, hostname: url.hostname,
        port: url.port, pathname: url.pathname, search: url.search.replace(/^\?/, ''), hash: url.hash.replace(/^#/, ''),
      };
    } else {
      if (input === null || typeof input !== 'object') throw new TypeError('URLPattern input must be a string or a URLPatternInit object');
      if (baseURL !== undefined) throw new TypeError('URLPattern takes a base URL only with a URL string');
      const empty = {};
      for (const k of UP_COMPONENTS) empty[k] = '';
      try { values = upProcessInit(input, 'url', empty); } catch { return null; }
    }
    const result = { inputs };
    for (const k of UP_COMPONENTS) {
      const c = this.#c[k];
      const m = c.regexp.exec(values[k]);
      if (!m) return null;
      const groups = {};
      c.names.forEach((name, i) => { groups[name] = m[i + 1]; });
      result[k] = { input: values[k], groups };
    }
    return result;
  }
  test(input = {}, baseURL = undefined) { return this.#match(input, baseURL) !== null; }
  exec(input = {}, baseURL = undefined) { return this.#match(input, baseURL); }
  get protocol() { return this.#c.protocol.pattern; }
  get username() { return this.#c.username.pattern; }
  get password() { return this.#c.password.pattern; }
  get hostname() { return this.#c.hostname.pattern; }
  get port() { return this.#c.port.pattern; }
  get pathname() { return this.#c.pathname.pattern; }
  get search() { return this.#c.search.pattern; }
  get hash() { return this.#c.hash.pattern; }
  get hasRegExpGroups() { return UP_COMPONENTS.some((k) => this.#c[k].hasRegexpGroups); }
  get [Symbol.toStringTag]() { return 'URLPattern'; }
}
define('URLPattern', URLPattern);
