// Large-object transfers driven by curl (SigV4 built in), for the gateway bench: on this machine
// Node's HTTP clients (node:http, undici) receive at most ~1.5–1.8 GiB/s over loopback from a
// server that sends one static buffer, where curl receives the same server at ~5 GiB/s. A Node
// load generator would measure itself, not the server.
import { spawn, spawnSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export interface CurlTarget { url: string; accessKey: string; secretKey: string; bucket: string }

/** curl must know --aws-sigv4 (7.75 and later); says what is missing otherwise. */
export function checkCurl(): void {
  const r = spawnSync('curl', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error('bench/gateway needs curl for large-object transfers: install it (apt-get install curl)');
  const [maj, min] = (/curl (\d+)\.(\d+)/.exec(r.stdout) ?? []).slice(1).map(Number);
  if (!(maj > 7 || (maj === 7 && min >= 75))) throw new Error(`bench/gateway needs curl 7.75 or later (--aws-sigv4); found ${r.stdout.split('\n')[0]}`);
}

/** A file of `size` random bytes to upload from (kept in the page cache by its first read). */
export async function makeUploadFile(path: string, size: number): Promise<void> {
  const piece = Buffer.alloc(Math.min(size, 4 << 20));
  randomFillSync(piece);
  const fh = await open(path, 'w', 0o600);
  try {
    for (let at = 0; at < size; at += piece.length) await fh.write(piece, 0, Math.min(piece.length, size - at), at);
  } finally {
    await fh.close();
  }
}

/**
 * PUT `source` to, or GET (into /dev/null) each key, `concurrency` transfers at once in one curl
 * process over kept-alive connections; checks every status and size. Returns the elapsed ms.
 */
export async function curlTransfer(t: CurlTarget, op: 'put' | 'get', keys: string[], size: number, concurrency: number, source: string): Promise<number> {
  const args = ['-sS', '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', `${t.accessKey}:${t.secretKey}`, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', '-w', '%{http_code} %{size_download} %{size_upload}\\n'];
  if (concurrency > 1) args.push('--parallel', '--parallel-immediate', '--parallel-max', String(concurrency));
  for (const key of keys) {
    const url = `${t.url}/${t.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
    if (op === 'put') args.push('-T', source, '-o', '/dev/null', url);
    else args.push('-o', '/dev/null', url);
  }
  const start = performance.now();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c; });
    child.stderr.on('data', (c: Buffer) => { stderr += c; });
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve(stdout) : reject(new Error(`curl ${op.toUpperCase()} on ${t.url} ${signal ? `was killed by ${signal}` : `exited ${code}`}: ${stderr.trim()}`))));
  });
  const ms = performance.now() - start;
  const lines = out.trim().split('\n');
  if (lines.length !== keys.length) throw new Error(`curl ${op.toUpperCase()}: ${lines.length} transfers reported, expected ${keys.length}`);
  for (const line of lines) {
    const [code, down, up] = line.split(' ').map(Number);
    const moved = op === 'put' ? up : down;
    if (code !== 200 || moved !== size) throw new Error(`curl ${op.toUpperCase()} on ${t.url}: HTTP ${code}, ${moved} bytes, expected 200 and ${size}`);
  }
  return ms;
}
