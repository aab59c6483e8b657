// Serves the dashboard on 127.0.0.1 for use without a topk host (no live mode then).
//   node js/scripts/serve.mjs [PORT]      (default 8080; run js/scripts/build.sh first)

import { join } from "node:path";

import { JS_DIR } from "../support/fixtures.mjs";
import { startServer } from "../support/server.mjs";

const port = Number(process.argv[2] ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  throw new Error(`invalid PORT ${process.argv[2]}: pass a port number from 0 to 65535`);
}
const server = await startServer({ mounts: { "/": join(JS_DIR, "dashboard") }, port });
console.log(`dashboard at ${server.url}/ (Ctrl-C stops)`);
