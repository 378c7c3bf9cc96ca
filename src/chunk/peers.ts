// The seam between the data path and a cache group (cachegroup/): other hosts' block caches,
// asked after the local disk cache and before object storage.
export interface PeerStats {
  /** Members this process reaches now (remotecache.peers). */
  peers: number;
  /** Blocks the group served without an object-store GET (from the asked member's cache, or one it
   * took from another member); blocks the member asked loaded from object storage to serve;
   * blocks no member served. */
  remoteHits: number;
  remoteFills: number;
  remoteMisses: number;
  /** Blocks this member loaded from object storage for the group (it owned them and lacked them). */
  groupStoreFills: number;
  /** Blocks a member sent that failed verification (refetched elsewhere, the copy dropped). */
  remoteCorrupt: number;
  /** Member requests that failed or timed out (each skipped the member). */
  remoteErrors: number;
  /** Blocks offered to their owners (and backups), and offers dropped for lack of room. */
  remoteOffers: number;
  remoteOfferSkips: number;
  /** Mean and worst of the member reads that answered, over the process's life (ms). */
  remoteReadMsAvg: number;
  remoteReadMsMax: number;
}

export interface BlockPeers {
  /** Fill `target` (blockLength bytes) with block `key` from a member that holds it, verified;
   * false when none does or none answers in time. Never throws for a member's failure. */
  fetch(key: string, blockLength: number, target: Uint8Array): Promise<boolean>;
  /** Block `key` came from object storage or was just written here: send it to its owner (and
   * backup) in the background, bounded; never waited for. `data` may be reused after the call. */
  offer(key: string, data: Uint8Array): void;
  stats(): PeerStats;
  close(): Promise<void>;
}
