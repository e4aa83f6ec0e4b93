// The harness's own client of the test API server: HTTPS with the serving CA and the harness's bearer token, no
// kubectl process. Used where the harness talks to the plane often (the node simulator's ticks, the reset before
// every test); one kubectl process costs more CPU than a dozen requests, and the suites run on two cores.
// `sendSync` serves the synchronous reads and writes tests make (getObject, putObject): through curl, which costs
// about a tenth of the CPU of a kubectl process (kubectl through this image's version dispatcher costs ~0.25 s).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface HarnessResponse {
  status: number;
  body: unknown;
  text: string;
}

export class HarnessApi {
  private readonly agent: https.Agent;
  /** The CA and the header curl reads (the token in a 0600 file, never on a command line). */
  private curlFiles: { dir: string; ca: string; header: string } | undefined;

  constructor(
    private readonly server: string,
    private readonly caPem: string,
    private readonly bearer: string,
  ) {
    this.agent = new https.Agent({ ca: caPem, keepAlive: true, maxSockets: 8 });
  }

  /** One request, synchronously (curl); any status is returned, as by `send`. */
  sendSync(method: string, path: string, body?: unknown): HarnessResponse {
    const files = this.curlFilesMade();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const statusMark = '\n--harness-status:';
    const argv = ['--silent', '--show-error', '--max-time', '10', '--cacert', files.ca, '--header', `@${files.header}`, '--header', 'Accept: application/json', '--request', method, '--write-out', `${statusMark}%{http_code}`];
    if (payload !== undefined) argv.push('--header', 'Content-Type: application/json', '--data-binary', '@-');
    argv.push(new URL(path, this.server).toString());
    const output = execFileSync('curl', argv, { encoding: 'utf8', input: payload ?? '', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
    const at = output.lastIndexOf(statusMark);
    if (at < 0) throw new Error(`${method} ${path}: curl printed no status`);
    const text = output.slice(0, at);
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: Number(output.slice(at + statusMark.length)), body: parsed, text };
  }

  private curlFilesMade(): { dir: string; ca: string; header: string } {
    if (this.curlFiles === undefined) {
      const dir = mkdtempSync(path.join(tmpdir(), 'krr-harness-curl-'));
      const ca = path.join(dir, 'ca.crt');
      const header = path.join(dir, 'authorization');
      writeFileSync(ca, this.caPem);
      writeFileSync(header, `Authorization: Bearer ${this.bearer}\n`, { mode: 0o600 });
      this.curlFiles = { dir, ca, header };
    }
    return this.curlFiles;
  }

  /** One request; any status is returned (the caller decides what a 404 or a 409 means). */
  send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<HarnessResponse> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers = { authorization: `Bearer ${this.bearer}`, accept: 'application/json', ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}) };
      const request = https.request(new URL(path, this.server), { method, agent: this.agent, headers, timeout: 10_000 }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: response.statusCode ?? 500, body: parsed, text });
        });
      });
      request.on('error', reject);
      request.on('timeout', () => request.destroy(new Error(`${method} ${path}: timed out`)));
      request.end(payload);
    });
  }

  /** One request that must succeed (status below 300); its parsed body. */
  async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
    const response = await this.send(method, path, body, contentType);
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${response.text.slice(0, 200)}`);
    return response.body;
  }

  destroy(): void {
    this.agent.destroy();
    if (this.curlFiles) rmSync(this.curlFiles.dir, { recursive: true, force: true });
    this.curlFiles = undefined;
  }
}
