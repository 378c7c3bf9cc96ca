// Requests between cache-group members carry an HMAC token: the key is derived from the group's
// secret (kept in the volume's metadata, which only the volume's clients reach), and the token
// signs the method, the path with its query and a time, so it is good for that request only and
// for a few minutes. A request without a valid one is refused before anything is looked at.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TOKEN_HEADER = 'x-strata-group-token';
/** The MAC of a block's piece checksums as sent: with it, bytes changed on the way fail the
 * receiver's check (the checksums alone are keyed by the block's name, which is no secret). */
export const SUMS_MAC_HEADER = 'x-strata-sums-mac';
// Clocks of the group's hosts may differ this much (they also decide heartbeats: keep them synced).
const MAX_SKEW_MS = 5 * 60_000;

export class GroupKey {
  readonly #key: Buffer;

  constructor(secret: string, group: string) {
    this.#key = createHmac('sha256', secret).update(`strata cache group v1 ${group}`).digest();
  }

  #sign(method: string, path: string, t: number): Buffer {
    return createHmac('sha256', this.#key).update(`${method} ${path} ${t}`).digest();
  }

  token(method: string, path: string, nowMs = Date.now()): string {
    return `${nowMs}.${this.#sign(method, path, nowMs).toString('hex')}`;
  }

  /** The MAC of piece checksums `sums` of pieces from `first` of block `blockKey`. */
  sumsMac(blockKey: string, first: number, sums: Uint8Array): string {
    return createHmac('sha256', this.#key).update(`sums ${blockKey} ${first} `).update(sums).digest('hex');
  }

  sumsMacMatches(blockKey: string, first: number, sums: Uint8Array, mac: unknown): boolean {
    if (typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) return false;
    return timingSafeEqual(Buffer.from(this.sumsMac(blockKey, first, sums), 'hex'), Buffer.from(mac, 'hex'));
  }

  /** Whether `token` was made with this key for this request, recently. */
  verify(method: string, path: string, token: string | undefined, nowMs = Date.now()): boolean {
    if (typeof token !== 'string') return false;
    const m = /^(\d{1,16})\.([0-9a-f]{64})$/.exec(token);
    if (!m) return false;
    const t = Number(m[1]);
    if (Math.abs(nowMs - t) > MAX_SKEW_MS) return false;
    return timingSafeEqual(this.#sign(method, path, t), Buffer.from(m[2], 'hex'));
  }
}
