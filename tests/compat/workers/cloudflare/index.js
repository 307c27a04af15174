// A Worker built from Cloudflare's documentation examples for Workers KV, R2 and Queues, declared in wrangler.toml
// and run unmodified: /kv/* is the KV "get started" example, /r2/* the R2 "use R2 from Workers" example, /queue
// sends a message and the queue handler records each message it consumes in KV. Beside them: /jwt signs and
// verifies an RS256 token against a JWKS with jose, /cache answers through caches.default, /ws echoes over a
// WebSocketPair, and /service calls the `greeter` Worker through its service binding.
import * as jose from 'jose';
async function kv(request, env) {
  const url = new URL(request.url);
  const key = url.pathname.slice('/kv/'.length);
  try {
    if (request.method === 'PUT') {
      await env.KV.put(key, await request.text(), { metadata: { by: 'compat' }, expirationTtl: 3600 });
      return new Response(`Put ${key}`);
    }
    if (key === '') {
      const list = await env.KV.list({ prefix: url.searchParams.get('prefix') || undefined });
      return Response.json(list);
    }
    const { value, metadata } = await env.KV.getWithMetadata(key);
    if (value === null) {
      return new Response('Value not found', { status: 404 });
    }
    return Response.json({ value, metadata });
  } catch (err) {
    console.error(`KV returned error: ${err}`);
    return new Response(err.message, { status: 500 });
  }
}

async function r2(request, env) {
  const url = new URL(request.url);
  const key = url.pathname.slice('/r2/'.length);
  if (key === '') {
    const listed = await env.MY_BUCKET.list({ prefix: url.searchParams.get('prefix') || undefined, delimiter: '/' });
    return Response.json({ keys: listed.objects.map((o) => o.key), prefixes: listed.delimitedPrefixes, truncated: listed.truncated });
  }
  switch (request.method) {
    case 'PUT':
      await env.MY_BUCKET.put(key, request.body, { httpMetadata: request.headers });
      return new Response(`Put ${key} successfully!`);
    case 'GET': {
      const object = await env.MY_BUCKET.get(key, { range: request.headers });
      if (object === null) {
        return new Response('Object Not Found', { status: 404 });
      }
      const headers = new Headers();
      object.writeHttpMetadata(headers);
      headers.set('etag', object.httpEtag);
      return new Response(object.body, { headers, status: object.range ? 206 : 200 });
    }
    case 'HEAD': {
      const object = await env.MY_BUCKET.head(key);
      if (object === null) {
        return new Response(null, { status: 404 });
      }
      const headers = new Headers();
      object.writeHttpMetadata(headers);
      headers.set('etag', object.httpEtag);
      headers.set('x-size', String(object.size));
      return new Response(null, { headers });
    }
    case 'DELETE':
      await env.MY_BUCKET.delete(key);
      return new Response('Deleted!');
    default:
      return new Response('Method Not Allowed', { status: 405, headers: { Allow: 'PUT, GET, HEAD, DELETE' } });
  }
}

// An identity provider's RS256 token, checked the way an API checks logins: against the provider's JWKS (both
// posted by the test, made by Node), and the same token with its claims changed.
async function jwt(request) {
  const { keys, token } = await request.json();
  const JWKS = jose.createLocalJWKSet({ keys });
  const { payload } = await jose.jwtVerify(token, JWKS, { issuer: 'https://issuer.example', audience: 'nano' });
  const [head, , sig] = token.split('.');
  const forged = `${head}.${btoa(JSON.stringify({ ...payload, sub: 'admin' })).replace(/=+$/, '')}.${sig}`;
  let refused;
  try {
    await jose.jwtVerify(forged, JWKS);
  } catch (e) {
    refused = e.code;
  }
  return Response.json({ sub: payload.sub, forged: refused });
}

// The Cache API example: answer from caches.default, else make the answer and keep it.
async function cached(request, ctx) {
  const cache = caches.default;
  let response = await cache.match(request);
  if (!response) {
    response = new Response(`made at ${Date.now()}`, { headers: { 'Cache-Control': 's-maxage=60' } });
    ctx.waitUntil(cache.put(request, response.clone()));
  }
  return response;
}

// The WebSocket echo example.
function websocket(request) {
  if (request.headers.get('Upgrade') !== 'websocket') {
    return new Response('Expected Upgrade: websocket', { status: 426 });
  }
  const [client, server] = Object.values(new WebSocketPair());
  server.accept();
  server.addEventListener('message', (event) => server.send(`echo: ${event.data}`));
  return new Response(null, { status: 101, webSocket: client });
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/jwt') return jwt(request);
    if (pathname === '/cache') return cached(request, ctx);
    if (pathname === '/ws') return websocket(request);
    if (pathname === '/service') return env.GREETER.fetch(new Request('https://greeter/hello?from=cfdocs'));
    if (pathname.startsWith('/kv/')) return kv(request, env);
    if (pathname.startsWith('/r2/')) return r2(request, env);
    if (pathname === '/queue') {
      const log = { url: request.url, method: request.method, note: new URL(request.url).searchParams.get('note') };
      await env.MY_QUEUE.send(log);
      return new Response('Sent message to the queue');
    }
    return new Response('Not found', { status: 404 });
  },
  async queue(batch, env) {
    for (const message of batch.messages) {
      await env.KV.put(`processed/${message.body.note}`, JSON.stringify({ queue: batch.queue, body: message.body }));
      message.ack();
    }
  },
};
