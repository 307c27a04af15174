// An itty-router app as a Workers user writes it; tests/compat/workers.rs bundles it with esbuild and runs it on nano.
import { AutoRouter } from "itty-router";
const router = AutoRouter();
router.get("/", () => "hello from itty");
router.get("/json/:name", ({ params, query }) => ({ name: params.name, q: query.q }));
router.post("/echo", async (req) => await req.json());
export default { fetch: router.fetch };
