// A Hono app as a Workers user writes it; tests/compat/workers.rs bundles it with esbuild and runs it on nano.
import { Hono } from "hono";
const app = new Hono();
app.get("/", (c) => c.text("hello from hono"));
app.get("/json/:name", (c) => c.json({ name: c.req.param("name"), q: c.req.query("q") }));
app.post("/echo", async (c) => c.json(await c.req.json()));
app.get("/env", (c) => c.text(c.env.GREETING));
export default app;
