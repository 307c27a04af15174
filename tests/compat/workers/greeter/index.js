// The Worker the Cloudflare docs Worker calls through its `GREETER` service binding.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    return new Response(`hello ${url.searchParams.get('from')} from greeter`);
  },
};
