// A real Prometheus server for tests (Debian's, started on a free port with a scrape config, queried through its HTTP API), and the ports around it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tool } from './tools.js';

/** A port nobody listens on now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether something accepts connections on the port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** One sample of an instant vector: its labels and value. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** A Prometheus server scraping one target every second, until stop(). */
export class PrometheusServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
    private readonly log: () => string,
  ) {}

  /** Starts Prometheus scraping `target` ("127.0.0.1:9435") and waits, at most deadlineMs, until it is ready. */
  static async start(target: string, deadlineMs = 60_000): Promise<PrometheusServer> {
    const binary = tool('prometheus');
    const dir = mkdtempSync(join(tmpdir(), 'lkb-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: lkb\n    static_configs:\n      - targets: ['${target}']\n`);
    const port = await freePort();
    let output = '';
    const child = spawn(binary, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const server = new PrometheusServer(child, dir, port, () => output);
    try {
      await server.until(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok, deadlineMs, 'Prometheus to be ready');
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** Runs an instant PromQL query. */
  async query(promql: string): Promise<PromSample[]> {
    const response = await fetch(`http://127.0.0.1:${this.port}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error ?? response.status}`);
    return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** The targets' scrape health: "up", "down" or "unknown" each, with the last error. */
  async targets(): Promise<Array<{ health: string; lastError: string }>> {
    const body = (await (await fetch(`http://127.0.0.1:${this.port}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string; lastError: string }> } };
    return body.data.activeTargets;
  }

  /** Polls `check` until it is true; fails after deadlineMs naming what was awaited and Prometheus's last words. */
  async until(check: () => Promise<boolean>, deadlineMs: number, what: string): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    let last: unknown;
    for (;;) {
      try {
        if (await check()) return;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`waited ${deadlineMs} ms for ${what}${last ? ` (last: ${String(last)})` : ''}; prometheus said: ${this.log().slice(-800)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Stops the server and removes its data. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
