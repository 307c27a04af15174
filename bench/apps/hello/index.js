// The hello-world app of the benchmarks: the same handler as the workerd peer's hello.js.
export default {
  async fetch(request, env) {
    return new Response("hello from " + (env.APP_NAME || "app") + "\n", {
      headers: { "content-type": "text/plain" },
    });
  },
};
