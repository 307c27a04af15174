// Deno.serve peer: the same response as the hello-world app, on the port given in PORT.
Deno.serve({ hostname: "127.0.0.1", port: Number(Deno.env.get("PORT") || 18092) }, () =>
  new Response("hello from deno\n", { headers: { "content-type": "text/plain" } }));
