// The app: a Hono router, whose `fetch` nano calls for every request to the app's hostnames.
import { Hono } from "hono";

const app = new Hono();

app.get("/", (c) => c.text("Hello from {{name}}!\n"));
app.get("/hello/:who", (c) => c.json({ hello: c.req.param("who") }));

export default app;
