// A small static file server on 127.0.0.1 for the dashboard, its tests and its benchmark.

import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
  ".snap": "application/octet-stream",
  ".ts": "text/plain; charset=utf-8",
};

/**
 * Starts a server on 127.0.0.1 at an ephemeral port (or `port`). `mounts` maps URL prefixes
 * ("/" or "/fixtures/") to directories. `handle(request, response, url)` receives each request first
 * and returns true when it sent the response itself. Resolves to `{ url, close }`.
 */
export async function startServer({ mounts, handle = () => false, port = 0 }) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);

  const server = createServer(async (request, response) => {
    const url = new URL(request.url, "http://127.0.0.1");
    try {
      if (await handle(request, response, url)) {
        return;
      }
      await serveFile(response, url.pathname, prefixes, mounts);
    } catch (error) {
      response.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      response.end(`internal error: ${error.message}`);
    }
  });

  await new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", done);
  });
  const address = server.address();
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise((done) => server.close(done)),
  };
}

async function serveFile(response, pathname, prefixes, mounts) {
  const prefix = prefixes.find((candidate) => pathname.startsWith(candidate));
  if (!["GET", "HEAD"].includes(response.req.method)) {
    response.writeHead(405, { "content-type": "text/plain; charset=utf-8", allow: "GET, HEAD" });
    return response.end(`method ${response.req.method} not allowed: this server only reads files`);
  }
  if (prefix === undefined) {
    return notFound(response, pathname);
  }

  // Resolve inside the mounted directory only: a path that climbs out with ".." is not found.
  const root = resolve(mounts[prefix]);
  let path = resolve(root, "." + sep + decodeURIComponent(pathname.slice(prefix.length)));
  if (path !== root && !path.startsWith(root + sep)) {
    return notFound(response, pathname);
  }

  let info = await stat(path).catch(() => null);
  if (info?.isDirectory()) {
    path = join(path, "index.html");
    info = await stat(path).catch(() => null);
  }
  if (!info?.isFile()) {
    return notFound(response, pathname);
  }

  const body = await readFile(path);
  response.writeHead(200, {
    "content-type": CONTENT_TYPES[extname(path)] ?? "application/octet-stream",
    "cache-control": "no-store",
  });
  response.end(body);
}

function notFound(response, pathname) {
  response.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
  response.end(`not found: ${pathname}`);
}
