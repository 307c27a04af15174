// The WPT URL data sets' checks (url-constructor, url-setters and urlpatterntests), each case one pass or failure.
// Shared by the runtime suite (tests/runtime/wpt.rs) and run-node.mjs, so every engine runs the same checks.
function wptRun(urlData, setterData, patternData) {
  const tally = (name) => ({ name, pass: 0, total: 0, failed: [] });
  const check = (t, label, fn) => {
    t.total++;
    try {
      fn();
      t.pass++;
    } catch (e) {
      t.failed.push(`${label}: ${e && e.message !== undefined ? e.message : String(e)}`);
    }
  };
  const eq = (got, want, what) => {
    if (got !== want) throw new Error(`${what} is ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
  };
  const throwsType = (fn, what) => {
    try { fn(); } catch (e) {
      if (e instanceof TypeError) return;
      throw new Error(`${what} threw ${e && e.name}, not TypeError`);
    }
    throw new Error(`${what} did not throw`);
  };
  const same = (got, want, what) => {
    if (want !== null && typeof want === 'object') {
      if (got === null || typeof got !== 'object') throw new Error(`${what} is ${JSON.stringify(got)}`);
      const gk = Object.keys(got).sort(), wk = Object.keys(want).sort();
      eq(gk.join(','), wk.join(','), `${what} keys`);
      for (const k of wk) same(got[k], want[k], `${what}.${k}`);
    } else eq(got, want, what);
  };

  const url = tally('URL parsing');
  for (const c of urlData) {
    if (typeof c === 'string') continue;
    const base = c.base !== null ? c.base : undefined;
    check(url, `<${c.input}> against <${c.base}>`, () => {
      if (c.failure) return throwsType(() => new URL(c.input, base), 'new URL');
      const u = new URL(c.input, base);
      for (const k of ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search']) {
        eq(u[k], c[k], k);
      }
      if ('searchParams' in c) eq(u.searchParams.toString(), c.searchParams, 'searchParams');
      eq(u.hash, c.hash, 'hash');
    });
  }

  const setters = tally('URL setters');
  for (const part of Object.keys(setterData)) {
    if (part === 'comment') continue;
    for (const c of setterData[part]) {
      check(setters, `<${c.href}> set ${part} to <${c.new_value}>`, () => {
        const u = new URL(c.href);
        u[part] = c.new_value;
        for (const k of Object.keys(c.expected)) eq(u[k], c.expected[k], k);
      });
    }
  }

  const pattern = tally('URLPattern');
  const components = ['protocol', 'username', 'password', 'hostname', 'port', 'pathname', 'search', 'hash'];
  const earlier = {
    protocol: [], hostname: ['protocol'], port: ['protocol', 'hostname'], username: [], password: [],
    pathname: ['protocol', 'hostname', 'port'], search: ['protocol', 'hostname', 'port', 'pathname'],
    hash: ['protocol', 'hostname', 'port', 'pathname', 'search'],
  };
  for (const entry of patternData) {
    check(pattern, `Pattern: ${JSON.stringify(entry.pattern)} Inputs: ${JSON.stringify(entry.inputs)}`, () => {
      if (entry.expected_obj === 'error') return throwsType(() => new URLPattern(...entry.pattern), 'new URLPattern');
      const p = new URLPattern(...entry.pattern);
      const want = entry.expected_obj || {};
      const empty = entry.exactly_empty_components || [];
      const first = entry.pattern[0];
      for (const k of components) {
        let expected = want[k];
        if (expected == undefined) {
          let baseURL = null;
          if (entry.pattern.length > 0 && first.baseURL) baseURL = new URL(first.baseURL);
          else if (entry.pattern.length > 1 && typeof entry.pattern[1] === 'string') baseURL = new URL(entry.pattern[1]);
          if (empty.includes(k)) expected = '';
          else if (typeof first === 'object' && first[k]) expected = first[k];
          else if (typeof first === 'object' && earlier[k].some((e) => e in first)) expected = '*';
          else if (baseURL && k !== 'username' && k !== 'password') {
            expected = baseURL[k];
            if (k === 'protocol') expected = expected.slice(0, -1);
            else if (k === 'search' || k === 'hash') expected = expected.slice(1);
          } else expected = '*';
        }
        eq(p[k], expected, `pattern.${k}`);
      }
      if (entry.expected_match === 'error') {
        throwsType(() => p.test(...entry.inputs), 'test()');
        return throwsType(() => p.exec(...entry.inputs), 'exec()');
      }
      eq(p.test(...entry.inputs), !!entry.expected_match, 'test()');
      const r = p.exec(...entry.inputs);
      if (!entry.expected_match || typeof entry.expected_match !== 'object') return eq(r, entry.expected_match, 'exec()');
      const inputs = entry.expected_match.inputs || entry.inputs;
      eq(r.inputs.length, inputs.length, 'exec().inputs.length');
      r.inputs.forEach((input, i) => {
        if (typeof input === 'string') return eq(input, inputs[i], `exec().inputs[${i}]`);
        for (const k of components) eq(input[k], inputs[i][k], `exec().inputs[${i}].${k}`);
      });
      for (const k of components) {
        let expected = entry.expected_match[k];
        if (!expected) {
          expected = { input: '', groups: {} };
          if (!empty.includes(k)) expected.groups['0'] = '';
        }
        const groups = {};
        for (const g of Object.keys(expected.groups)) groups[g] = expected.groups[g] === null ? undefined : expected.groups[g];
        same(r[k], { input: expected.input, groups }, `exec().${k}`);
      }
    });
  }
  return [url, setters, pattern];
}
