// strata gateway META_URL ADDRESS: serve a volume as an S3 endpoint until SIGINT/SIGTERM, then
// let requests in flight finish and close the volume.
import { trustedProxies } from '../../gateway/client-address.js';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_LIMITS, startGateway } from '../../gateway/server.js';
import { addMirrorFlags, mirrorOptions, replicateIfAsked, type MirrorFlags } from '../mirror-flags.js';
import { addGroupFlags, groupOptions, type GroupFlags } from '../group-flags.js';
import { redactUrl } from '../../config/urls.js';
import { parseAddress } from '../address.js';
import { addMetricsFlag, serveMetricsIfAsked, type MetricsFlags } from '../metrics-flag.js';
import { addNotifyFlags, notifyOptions, type NotifyFlags } from '../notify-flags.js';

export const ACCESS_KEY_ENV = 'STRATA_GATEWAY_ACCESS_KEY';
export const SECRET_KEY_ENV = 'STRATA_GATEWAY_SECRET_KEY';

function hours(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(n > 0) || n > 24 * 365) throw new InvalidArgumentError(`${flag} takes hours, more than 0 and at most a year, got "${value}".`);
    return n;
  };
}

function connections(value: string): number {
  const n = Number(value);
  if (!/^\d{1,6}$/.test(value.trim()) || n < 1) throw new InvalidArgumentError(`--max-connections takes a whole number of at least 1, got "${value}".`);
  return n;
}

interface GatewayFlags extends MirrorFlags, GroupFlags, MetricsFlags, NotifyFlags {
  accessKey?: string;
  secretKey?: string;
  readOnly?: boolean;
  region: string;
  domain: string[];
  uploadExpiry: number;
  maxConnections: number;
  trustedProxy: string[];
}

function proxyRange(value: string, previous: string[]): string[] {
  try {
    trustedProxies([value]);
  } catch {
    throw new InvalidArgumentError(`--trusted-proxy takes an IP address or CIDR range, got "${value}".`);
  }
  return previous.concat(value);
}

export function registerGateway(program: Command): void {
  const gateway = program
    .command('gateway')
    .description('serve a volume over the S3 API (buckets are top-level directories); runs until SIGINT or SIGTERM')
    .argument('<meta-url>', 'metadata URL, e.g. sqlite3://./meta.db')
    .argument('<address>', 'where to listen: HOST:PORT, [IPV6]:PORT, :PORT or PORT (host default 127.0.0.1)', parseAddress)
    .option('--access-key <key>', `root access key (default: $${ACCESS_KEY_ENV})`)
    .option('--secret-key <key>', `root secret key (default: $${SECRET_KEY_ENV}; flags are visible to other users in ps)`)
    .option('--read-only', 'refuse every change with AccessDenied')
    .option('--region <name>', 'the region the gateway reports', 'us-east-1')
    .option('--domain <name>', 'base domain for virtual-hosted-style requests (BUCKET.DOMAIN); repeatable', (v: string, prev: string[]) => prev.concat(v), [] as string[])
    .option('--upload-expiry <hours>', 'remove multipart uploads not completed within this many hours', hours('--upload-expiry'), 24 * 7)
    .option('--max-connections <n>', 'refuse connections beyond this many (keep it below the open-file limit)', connections, DEFAULT_LIMITS.maxConnections)
    .option('--trusted-proxy <cidr>', 'a TLS-terminating proxy whose X-Forwarded-For/-Proto set aws:SourceIp and aws:SecureTransport; repeatable', proxyRange, [] as string[]);
  addNotifyFlags(addMetricsFlag(addGroupFlags(addMirrorFlags(gateway))))
    .action(async (metaUrl: string, address: { host: string; port: number }, flags: GatewayFlags) => {
      const cacheGroup = groupOptions(flags);
      const events = notifyOptions(flags);
      const accessKey = flags.accessKey ?? process.env[ACCESS_KEY_ENV];
      const secretKey = flags.secretKey ?? process.env[SECRET_KEY_ENV];
      if (!accessKey || !secretKey) {
        throw Object.assign(new Error(`the gateway needs root credentials: --access-key and --secret-key, or $${ACCESS_KEY_ENV} and $${SECRET_KEY_ENV}`), { exitCode: 2 });
      }
      const metrics = await serveMetricsIfAsked(flags);
      let gw;
      try {
        gw = await startGateway({
          metaUrl, host: address.host, port: address.port, accessKey, secretKey, readOnly: flags.readOnly, region: flags.region,
          domains: flags.domain, uploadExpiryMs: flags.uploadExpiry * 3_600_000, limits: { maxConnections: flags.maxConnections }, trustedProxies: flags.trustedProxy,
          volume: { ...mirrorOptions(flags), cacheGroup }, ...events,
        });
      } catch (err) {
        await metrics?.close();
        if (err instanceof RangeError) throw Object.assign(new Error(err.message), { exitCode: 2 });
        throw err;
      }
      process.stdout.write(`serving ${redactUrl(metaUrl)} over S3 at ${gw.url}${flags.readOnly ? ' (read-only)' : ''}\n`);
      const stopReplicating = await replicateIfAsked(metaUrl, flags, (line) => process.stderr.write(`${line}\n`)).catch(async (err: unknown) => {
        await gw.close();
        await metrics?.close();
        throw err;
      });
      if (process.send) process.send({ listening: gw.url });
      const signal = await new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      process.stderr.write(`${signal}: finishing requests in flight and closing the volume\n`);
      await stopReplicating();
      await gw.close();
      await metrics?.close();
      process.stderr.write('gateway closed\n');
    });
}
