// The app, as `wrangler init` shapes it: nano calls `fetch` for every request to its hostnames, with the vars of
// wrangler.toml in `env`.
export interface Env {
  GREETING: string;
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    return new Response(`${env.GREETING} from {{name}}!\n`);
  },
} satisfies ExportedHandler<Env>;
