// The metrics endpoint: serves GET /metrics in the Prometheus text format from a collector; HTTP lives here, not in the library.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { LoaderError, UsageError } from '../errors.js';

/** Where to listen: 127.0.0.1 unless an address is named, as exporters that expose kernel data should. */
export interface MetricsAddress {
  host: string;
  port: number;
}

/** Prometheus's content type for the text exposition format 0.0.4. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Open connections at most: a flood of clients waits in the kernel's backlog instead of starving the readers. */
const MAX_CONNECTIONS = 32;
/** A client that does not finish its request in this time is dropped (slowloris). */
const REQUEST_TIMEOUT_MS = 10_000;

/** Reads "PORT", ":PORT", "HOST:PORT" or "[IPv6]:PORT" (--metrics); port 0 is any free one, said when listening. */
export function parseMetricsAddress(text: string): MetricsAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]:|([^:[\]]*):)?(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`--metrics ${JSON.stringify(text)}: expected [ADDRESS:]PORT with a port from 0 (any free one) to 65535, e.g. 9435 or 0.0.0.0:9435`);
  const host = match[1] ?? (match[2] || '127.0.0.1');
  if (match[1] !== undefined && isIP(host) !== 6) throw new UsageError(`--metrics ${JSON.stringify(text)}: ${host} is not an IPv6 address`);
  return { host, port };
}

/** What a scrape gets: the exposition, or undefined while there is nothing to read yet (the object is still loading). */
export type Collect = () => string | undefined;

/** An HTTP server with one page: /metrics, made by `collect` at each request so values are current. */
export class MetricsServer {
  private constructor(
    private readonly server: Server,
    readonly address: MetricsAddress,
  ) {}

  /** Listens; a port in use or an address this machine lacks is one clear line. */
  static async listen(address: MetricsAddress, collect: Collect): Promise<MetricsServer> {
    const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS }, (request, response) => respond(request, response, collect));
    server.maxConnections = MAX_CONNECTIONS;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: NodeJS.ErrnoException) => {
      const where = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
      const why = error.code === 'EADDRINUSE' ? 'the port is in use' : error.code === 'EADDRNOTAVAIL' ? 'this machine has no such address' : error.code === 'EACCES' ? 'not allowed to bind it' : (error.code ?? error.message);
      throw new LoaderError(`--metrics ${where}: cannot listen (${why})`, { cause: error });
    });
    const bound = server.address();
    return new MetricsServer(server, typeof bound === 'object' && bound ? { host: address.host, port: bound.port } : address);
  }

  /** The scrape URL, for people. */
  get url(): string {
    const host = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `http://${host}:${this.address.port}/metrics`;
  }

  /** Stops listening and drops open connections: nothing listens after the run ends. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function respond(request: IncomingMessage, response: ServerResponse, collect: Collect): void {
  const path = (request.url ?? '/').split('?')[0];
  if (path !== '/metrics') return plain(response, 404, 'not found: the metrics are at /metrics\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return plain(response, 405, 'method not allowed: GET /metrics\n');
  }
  let body: string | undefined;
  try {
    body = collect();
  } catch (error) {
    return plain(response, 500, `reading the maps failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  if (body === undefined) {
    response.setHeader('Retry-After', '1');
    return plain(response, 503, 'not attached yet: the object is loading\n');
  }
  response.writeHead(200, { 'Content-Type': EXPOSITION_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}
