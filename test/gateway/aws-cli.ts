// Running the AWS CLI against a gateway: an isolated environment (no config or credentials files
// of the machine, no pager, no retries), the keys given, optional standard input.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { need } from '../helpers/require.js';

const probe = spawnSync('aws', ['--version'], { encoding: 'utf8' });
export const AWS_VERSION = probe.status === 0 ? (probe.stdout || probe.stderr).trim() : null;
export const awscli = need('awscli', AWS_VERSION ? null : 'no `aws` command (install the Debian package awscli)');

export interface AwsKeys { id: string; secret: string; token?: string }

export function runAws(endpoint: string, work: string, keys: AwsKeys, input: string | null, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('aws', ['--endpoint-url', endpoint, ...args], {
      env: {
        ...process.env, AWS_ACCESS_KEY_ID: keys.id, AWS_SECRET_ACCESS_KEY: keys.secret, AWS_SESSION_TOKEN: keys.token ?? '', AWS_DEFAULT_REGION: 'us-east-1',
        AWS_CONFIG_FILE: join(work, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'), AWS_PAGER: '', AWS_MAX_ATTEMPTS: '1',
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(input ?? undefined);
  });
}
