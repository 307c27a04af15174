// Markdown files of the repository that pages include at build time, so the site cannot drift from them.
// The globs are resolved by Vite when the site is built: a missing optional file simply matches nothing.
import type { MarkdownHeading } from 'astro';

interface MarkdownModule {
  Content: any;
  getHeadings: () => MarkdownHeading[];
}

const architecture = import.meta.glob<MarkdownModule>('../../../architecture.md', { eager: true });
const benchResults = import.meta.glob<MarkdownModule>('../../../../bench/RESULTS.md', { eager: true });

function only(found: Record<string, MarkdownModule>): MarkdownModule | undefined {
  return Object.values(found)[0];
}

/** docs/architecture.md: required, the build fails without it. */
export function architectureDoc(): MarkdownModule {
  const doc = only(architecture);
  if (!doc) throw new Error('docs/architecture.md is missing: the architecture page includes it');
  return doc;
}

/** bench/RESULTS.md, written by the bench harness: absent until the first recorded run. */
export function benchResultsDoc(): MarkdownModule | undefined {
  return only(benchResults);
}

/** The included document of a page (by its id in the docs collection), if it has one. */
export function includedFor(id: string): MarkdownModule | undefined {
  if (id === 'architecture') return architectureDoc();
  if (id === 'benchmarks') return benchResultsDoc();
  return undefined;
}
