// The app: nano calls `fetch` for every request to its hostnames, as Cloudflare Workers does.
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/") {
      return new Response("Hello from {{name}}!\n");
    }
    return Response.json({ error: `nothing at ${url.pathname}` }, { status: 404 });
  },
};
