// Runs the WPT URL data sets through harness.js in Node (or any engine with `node`-style modules) and prints the
// counts beside nano's: `node tests/runtime/wpt/run-node.mjs [--failures]`.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const dir = new URL('.', import.meta.url);
const read = (name) => readFileSync(new URL(name, dir), 'utf8');
vm.runInThisContext(read('harness.js'));
const load = (name) => JSON.parse(read(name));
const results = globalThis.wptRun(load('urltestdata.json'), load('setters_tests.json'),
  typeof URLPattern === 'function' ? load('urlpatterntestdata.json') : []);
for (const t of results) {
  console.log(`${t.name}: ${t.total ? `${t.pass}/${t.total}` : 'no URLPattern in this engine'}`);
  if (process.argv.includes('--failures')) for (const f of t.failed) console.log(`  ${f}`);
}
