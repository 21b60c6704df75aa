// The metrics endpoint: --metrics addresses, one page at /metrics, the HTTP errors, and nothing listening after close.
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { listening } from '../support/prometheus.js';
import { describe, test } from '../support/test.js';
import { LoaderError, UsageError } from '../../src/errors.js';
import { EXPOSITION_CONTENT_TYPE, MetricsServer, parseMetricsAddress } from '../../src/cli/metrics-server.js';

describe('--metrics [ADDRESS:]PORT', () => {
  test('a port alone, or after a colon, is 127.0.0.1; an address is kept; 0 is any free port', () => {
    assert.deepEqual(parseMetricsAddress('9435'), { host: '127.0.0.1', port: 9435 });
    assert.deepEqual(parseMetricsAddress(':9435'), { host: '127.0.0.1', port: 9435 });
    assert.deepEqual(parseMetricsAddress('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
    assert.deepEqual(parseMetricsAddress('localhost:65535'), { host: 'localhost', port: 65535 });
    assert.deepEqual(parseMetricsAddress('[::1]:9435'), { host: '::1', port: 9435 });
    assert.deepEqual(parseMetricsAddress('0'), { host: '127.0.0.1', port: 0 }, 'any free port');
  });

  test('a bad port or address is one line naming the flag', () => {
    for (const text of ['', 'x', '-1', '65536', '127.0.0.1', '::1:9435', '[nothost]:1', '1.2.3.4:99999']) {
      assert.throws(() => parseMetricsAddress(text), (error: unknown) => error instanceof UsageError && error.message.startsWith(`--metrics ${JSON.stringify(text)}: `), text);
    }
  });
});

describe('the metrics server', () => {
  test('GET /metrics is the exposition, made at each request; other paths 404, other methods 405', async () => {
    let scrapes = 0;
    const server = await MetricsServer.listen({ host: '127.0.0.1', port: 0 }, () => `# TYPE x_total counter\nx_total ${++scrapes}\n`);
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const first = await fetch(server.url);
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('content-type'), EXPOSITION_CONTENT_TYPE);
      assert.equal(await first.text(), '# TYPE x_total counter\nx_total 1\n');
      assert.equal(await (await fetch(server.url)).text(), '# TYPE x_total counter\nx_total 2\n', 'each scrape reads anew');
      const head = await fetch(server.url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');
      const missing = await fetch(server.url.replace('/metrics', '/nothing'));
      assert.equal(missing.status, 404);
      assert.match(await missing.text(), /\/metrics/);
      const posted = await fetch(server.url, { method: 'POST', body: 'x' });
      assert.equal(posted.status, 405);
      assert.equal(posted.headers.get('allow'), 'GET, HEAD');
    } finally {
      await server.close();
    }
    assert.equal(await listening(server.address.port), false, 'nothing listens after close');
  });

  test('a collector that fails is a 500 naming why; the server goes on', async () => {
    let fail = true;
    const server = await MetricsServer.listen({ host: '127.0.0.1', port: 0 }, () => {
      if (fail) throw new LoaderError('map counts: EPERM');
      return 'ok 1\n';
    });
    try {
      const failed = await fetch(server.url);
      assert.equal(failed.status, 500);
      assert.equal(await failed.text(), 'reading the maps failed: map counts: EPERM\n');
      fail = false;
      assert.equal(await (await fetch(server.url)).text(), 'ok 1\n');
    } finally {
      await server.close();
    }
  });

  test('before there is anything to read, a scrape is a 503 asking to retry', async () => {
    const server = await MetricsServer.listen({ host: '127.0.0.1', port: 0 }, () => undefined);
    try {
      const early = await fetch(server.url);
      assert.equal(early.status, 503);
      assert.equal(early.headers.get('retry-after'), '1');
    } finally {
      await server.close();
    }
  });

  test('a client that never finishes its request does not hold the server: others are served, close ends it', async () => {
    const server = await MetricsServer.listen({ host: '127.0.0.1', port: 0 }, () => 'x 1\n');
    const slow = connect(server.address.port, '127.0.0.1');
    try {
      await new Promise((resolve) => slow.once('connect', resolve));
      slow.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'); // headers never end
      assert.equal(await (await fetch(server.url)).text(), 'x 1\n');
    } finally {
      await server.close();
      slow.destroy();
    }
  });

  test('a port in use is one line', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      await assert.rejects(MetricsServer.listen({ host: '127.0.0.1', port }, () => ''), (error: unknown) => {
        assert.ok(error instanceof LoaderError);
        assert.equal(error.message, `--metrics 127.0.0.1:${port}: cannot listen (the port is in use)`);
        return true;
      });
    } finally {
      taken.close();
    }
  });
});
