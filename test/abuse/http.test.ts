// The loopback HTTP endpoint under abuse: only 127.0.0.1, token, Host and Origin checks (counted as bypass
// attempts), and a scan of bad requests (counted as http_bad_requests): each gets a clean HTTP error and the
// server keeps serving.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { request } from 'node:http';
import { startHttpHost, type HttpHost } from '../../src/mcp/http';
import { startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { count } from './figures';
import { call, connectHttp } from './harness';

const initializeBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });

function raw(port: number, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: options.method ?? 'POST', path: '/mcp', headers: options.headers ?? {}, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

describe('abuse: the loopback HTTP endpoint', function () {
  this.timeout(60_000);
  let f: SessionFixture;
  let host: HttpHost;
  before(async () => {
    f = await startSessionFixture();
    host = await startHttpHost(f.session, { version: 'test' });
  });
  after(async () => {
    await host.close();
    await f.close();
  });

  const good = () => ({ Authorization: `Bearer ${host.token}`, Host: `127.0.0.1:${host.port}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' });

  async function stillServing(): Promise<void> {
    const client = await connectHttp(host, 'after-abuse');
    try {
      assert.equal((await call(client, 'krr_list_snapshots')).isError, undefined);
    } finally {
      await client.close();
    }
  }

  it('binds only to 127.0.0.1: other local addresses refuse the connection', async () => {
    assert.match(host.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const others = Object.values(networkInterfaces()).flat().filter((address) => address && !address.internal && address.family === 'IPv4').map((address) => address?.address as string);
    for (const address of others) {
      count('bypass_scenarios');
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: address, port: host.port });
        socket.once('connect', () => (socket.destroy(), resolve(false)));
        socket.once('error', () => resolve(true));
      });
      assert.equal(refused, true, `reachable on ${address}`);
    }
  });

  it('token, Host and Origin: every wrong one gets 401/403', async () => {
    const attempts: Array<[Record<string, string>, number]> = [
      [{ ...good(), Authorization: '' }, 401],
      [{ ...good(), Authorization: `Bearer ${host.token}x` }, 401],
      [{ ...good(), Authorization: `bearer ${host.token}` }, 401],
      [{ ...good(), Authorization: `Basic ${host.token}` }, 401],
      [{ ...good(), Host: 'evil.example' }, 403],
      [{ ...good(), Host: `evil.example:${host.port}` }, 403],
      [{ ...good(), Host: `127.0.0.1.nip.io:${host.port}` }, 403],
      [{ ...good(), Origin: 'https://evil.example' }, 403],
      [{ ...good(), Origin: 'null' }, 403],
    ];
    for (const [headers, status] of attempts) {
      count('bypass_scenarios');
      assert.equal((await raw(host.port, { headers, body: initializeBody })).status, status, JSON.stringify(headers).slice(0, 120));
    }
    assert.equal(f.cluster.writes().length, 0);
    await stillServing();
  });

  it('bad requests get a clean 4xx and the server keeps serving', async () => {
    const requests: Array<[string, Parameters<typeof raw>[1], (status: number) => boolean]> = [
      ['oversized body', { headers: good(), body: Buffer.alloc(2 * 1024 * 1024, 0x20) }, (s) => s === 413],
      ['malformed JSON', { headers: good(), body: '{"jsonrpc":' }, (s) => s === 400],
      ['JSON that is not JSON-RPC', { headers: good(), body: '{"hello":"world"}' }, (s) => s === 400],
      ['JSON-RPC without initialize', { headers: good(), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'krr_apply_plan', arguments: { planId: 'x' } } }) }, (s) => s === 400],
      ['batch array', { headers: good(), body: JSON.stringify([JSON.parse(initializeBody), { jsonrpc: '2.0', id: 2, method: 'tools/list' }]) }, (s) => s >= 400 && s < 500],
      ['empty batch', { headers: good(), body: '[]' }, (s) => s >= 400 && s < 500],
      ['text/plain', { headers: { ...good(), 'Content-Type': 'text/plain' }, body: initializeBody }, (s) => s >= 400 && s < 500],
      ['form content type', { headers: { ...good(), 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=b' }, (s) => s >= 400 && s < 500],
      ['no Accept', { headers: { ...good(), Accept: 'text/html' }, body: initializeBody }, (s) => s >= 400 && s < 500],
      ['huge header', { headers: { ...good(), 'X-Junk': 'x'.repeat(64 * 1024) }, body: initializeBody }, (s) => s === 431 || s === 0 /* 431 sent, then the socket is reset mid-upload */],
      ['unknown session id', { headers: { ...good(), 'mcp-session-id': '../../etc' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) }, (s) => s === 404],
      ['PUT', { method: 'PUT', headers: good(), body: initializeBody }, (s) => s === 405],
      ['deep JSON', { headers: good(), body: '['.repeat(200_000) + ']'.repeat(200_000) }, (s) => s >= 400 && s < 500],
    ];
    for (const [name, options, ok] of requests) {
      count('http_bad_requests');
      const response = await raw(host.port, options).catch((error: Error) => ({ status: 0, body: error.message }));
      assert.ok(ok(response.status), `${name}: HTTP ${response.status} ${response.body.slice(0, 200)}`);
    }
    await stillServing();
  });

  it('a slow, never-finished body (slowloris) does not block other clients', async () => {
    count('http_bad_requests');
    const socket = connect({ host: '127.0.0.1', port: host.port });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nAuthorization: Bearer ${host.token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`);
    const drip = setInterval(() => socket.write(' '), 100);
    try {
      await stillServing();
      await stillServing();
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
    await stillServing();
  });
});
