// bench/object's S3 server: the tests' s3rver (test/helpers/s3rver.ts, used as it is) in a child
// process of its own, so the server has its own event loop and thread pool and the client under
// measurement (Strata, the raw SDK, or s3fs) does not share them with it.
// Protocol over the IPC channel: the child sends { ready, endpoint, port, directory } (or
// { error }); the parent sends 'stop' (or just disconnects, e.g. when it dies), and the child stops
// the server, removes its directory and exits.
//
// One addition for s3fs, which uploads big files as multipart uploads: s3rver keeps the headers
// of CreateMultipartUpload (Content-Length: 0) as the object's metadata, and the helper's atomic
// putObject, which CompleteMultipartUpload ends in, checks the joined parts against that length and
// answers IncompleteBody, so every multipart upload failed. The length of a multipart upload's
// initiation is not the object's; it is dropped here before s3rver stores it. (Nothing Strata or
// the raw SDK does here uses multipart uploads.)
import { createRequire } from 'node:module';
import { startS3rver, type RunningS3rver } from '../test/helpers/s3rver.js';

const require = createRequire(import.meta.url);

type InitiateUpload = (this: unknown, bucket: string, key: string, uploadId: string, metadata: Record<string, string>) => Promise<void>;

function fixMultipartLength(): void {
  const FilesystemStore = require('s3rver/lib/stores/filesystem') as { prototype: { initiateUpload: InitiateUpload } };
  const initiate = FilesystemStore.prototype.initiateUpload;
  FilesystemStore.prototype.initiateUpload = function (bucket, key, uploadId, metadata) {
    const { 'content-length': _initiationLength, ...rest } = metadata;
    return initiate.call(this, bucket, key, uploadId, rest);
  };
}

export interface S3rverReady {
  ready: true;
  endpoint: string;
  port: number;
  directory: string;
}

async function main(): Promise<void> {
  const buckets = process.argv.slice(2);
  let srv: RunningS3rver | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= (async () => {
      await srv?.stop().catch((e: unknown) => console.error('s3rver stop:', e instanceof Error ? e.message : e));
      process.exit(code);
    })();
  };
  process.on('message', (m) => {
    if (m === 'stop') stop(0);
  });
  process.on('disconnect', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  try {
    fixMultipartLength();
    srv = await startS3rver({ buckets });
    const ready: S3rverReady = { ready: true, endpoint: srv.endpoint, port: srv.port, directory: srv.directory };
    process.send?.(ready);
  } catch (e) {
    process.send?.({ error: e instanceof Error ? e.stack ?? e.message : String(e) });
    stop(1);
  }
}

void main();
