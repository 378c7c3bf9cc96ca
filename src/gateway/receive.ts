// Receiving an upload's body: into a new temp file, digests computed on the way (the MD5 on a
// worker for large bodies), verified once the last byte is in. On any failure the temp file is
// gone again before the error goes up.
import type { OpContext } from './context.js';
import { Integrity, type Digests } from './integrity.js';
import { md5For } from './md5.js';
import type { TempFile } from './staging.js';

export interface Received {
  temp: TempFile;
  digests: Digests;
}

/** The integrity checks a request announces, with an MD5 suited to its length. */
export function integrityOf(ctx: OpContext): Integrity {
  return new Integrity(ctx.req, ctx.body.announcedTrailer, md5For(ctx.body.declaredLength()));
}

export async function receiveBody(ctx: OpContext, integrity: Integrity, limit: number): Promise<Received> {
  const temp = await ctx.core.staging.createTemp();
  temp.onWritten = (chunks) => integrity.written(chunks);
  try {
    for await (const chunk of ctx.body.chunks(limit)) {
      integrity.update(chunk);
      await temp.append(chunk);
    }
    await temp.flush();
    return { temp, digests: await integrity.finish(ctx.body.trailers) };
  } catch (err) {
    integrity.abandon();
    await temp.discard();
    throw err;
  }
}
