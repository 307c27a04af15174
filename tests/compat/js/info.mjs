// hyper-connect's info.services() against nano: GET / lists the enabled services.
import { connect } from "hyper-connect";
import assert from "node:assert/strict";

const hyper = connect(process.env.HYPER);
const services = await hyper.info.services();
assert.equal(services.name, "nano");
assert.ok(Array.isArray(services.services), JSON.stringify(services));
console.log("info ok", JSON.stringify(services.services));
