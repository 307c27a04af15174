// Prometheus text parsing and the overview's live charts: small inline SVG line charts, redrawn on each sample.

const SVG = 'http://www.w3.org/2000/svg';

/** Samples of a Prometheus text exposition: `[{ name, labels: {..}, value }]`. */
export function parseProm(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of a family's samples, optionally only those whose labels pass `keep`. */
export function total(samples, name, keep = () => true) {
  return samples.filter((s) => s.name === name && keep(s.labels)).reduce((a, s) => a + s.value, 0);
}

/** Cumulative histogram buckets summed over apps: `[[le, count]]` sorted by le. */
export function buckets(samples, family) {
  const by = new Map();
  for (const s of samples) {
    if (s.name !== `${family}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    by.set(le, (by.get(le) ?? 0) + s.value);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]);
}

/** The `q` quantile (0..1) of the requests between two bucket snapshots, in seconds (bucket upper bound); null
 * when none. */
export function quantile(before, after, q) {
  const delta = after.map(([le, n], i) => [le, n - (before[i]?.[1] ?? 0)]);
  const count = delta.length ? delta[delta.length - 1][1] : 0;
  if (count <= 0) return null;
  const rank = q * count;
  for (const [le, n] of delta) {
    if (n >= rank) return Number.isFinite(le) ? le : delta[delta.length - 2]?.[0] ?? null;
  }
  return null;
}

/** A chart card: title, latest value and a line of the last points; `update(points)` redraws it. */
export function chart(title, format) {
  const fig = document.createElement('figure');
  fig.className = 'chart';
  const cap = document.createElement('figcaption');
  const name = document.createElement('span');
  name.textContent = title;
  const value = document.createElement('strong');
  value.textContent = '–';
  cap.append(name, value);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 200 50');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${title}: no data yet`);
  const line = document.createElementNS(SVG, 'polyline');
  svg.append(line);
  fig.append(cap, svg);
  fig.update = (points) => {
    const vals = points.map((p) => p ?? 0);
    const max = Math.max(...vals, 1e-9);
    const step = vals.length > 1 ? 200 / (vals.length - 1) : 200;
    line.setAttribute('points', vals.map((v, i) => `${(i * step).toFixed(1)},${(48 - (v / max) * 46).toFixed(1)}`).join(' '));
    const last = points[points.length - 1];
    value.textContent = last == null ? '–' : format(last);
    svg.setAttribute('aria-label', `${title}: ${value.textContent}, peak ${format(max)} over the last ${vals.length} samples`);
  };
  return fig;
}
