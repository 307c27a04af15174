// Starlight route middleware: pages that include a repository Markdown file get its headings in their
// "On this page" list, after the page's own headings.
import { defineRouteMiddleware } from '@astrojs/starlight/route-data';
import type { MarkdownHeading } from 'astro';
import { includedFor } from './lib/included';

type TocItem = MarkdownHeading & { children: TocItem[] };

function inject(items: TocItem[], item: TocItem): void {
  const last = items.at(-1);
  if (!last || last.depth >= item.depth) items.push(item);
  else inject(last.children, item);
}

export const onRequest = defineRouteMiddleware((context) => {
  const route = context.locals.starlightRoute;
  const included = includedFor(route.id);
  if (!included || !route.toc) return;
  const { minHeadingLevel, maxHeadingLevel } = route.toc;
  for (const h of included.getHeadings()) {
    if (h.depth >= minHeadingLevel && h.depth <= maxHeadingLevel) {
      inject(route.toc.items as TocItem[], { ...h, children: [] });
    }
  }
});
