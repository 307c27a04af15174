// nano's documentation site: Starlight over Markdown pages in src/content/docs, plus two files of the repository
// included at build time (docs/architecture.md, and bench/RESULTS.md when it exists).
import { defineConfig } from 'astro/config';
import starlight from '@astrojs/starlight';
import { remarkIncluded } from './src/lib/remark-included.mjs';

export default defineConfig({
  site: 'http://127.0.0.1:4321',
  telemetry: false,
  markdown: {
    remarkPlugins: [remarkIncluded],
  },
  integrations: [
    starlight({
      title: 'nano',
      description:
        'nano: one binary that hosts tenants’ Workers-style JavaScript apps and serves hyper-compatible services.',
      lastUpdated: false,
      routeMiddleware: './src/routeData.ts',
      pagination: true,
      sidebar: [
        { label: 'What nano is', link: '/' },
        { label: 'Getting started', link: '/getting-started/' },
        {
          label: 'Reference',
          items: [
            { label: 'Configuration', link: '/reference/configuration/' },
            { label: 'Command line', link: '/reference/cli/' },
          ],
        },
        {
          label: 'Services API',
          items: [
            { label: 'Overview', link: '/services/' },
            { label: 'Data', link: '/services/data/' },
            { label: 'Cache', link: '/services/cache/' },
            { label: 'Storage', link: '/services/storage/' },
            { label: 'Search', link: '/services/search/' },
            { label: 'Queue', link: '/services/queue/' },
          ],
        },
        { label: 'App runtime', link: '/runtime/' },
        { label: 'Hosting', link: '/hosting/' },
        { label: 'Operator console', link: '/console/' },
        { label: 'Tenancy and keys', link: '/tenancy/' },
        { label: 'Security model', link: '/security/' },
        { label: 'Prod profile and scaling out', link: '/prod/' },
        { label: 'Benchmarks', link: '/benchmarks/' },
        { label: 'Architecture', link: '/architecture/' },
      ],
    }),
  ],
});
