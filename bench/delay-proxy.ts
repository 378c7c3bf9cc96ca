// The link between two regions on one machine: a TCP proxy on loopback that holds every chunk
// for `delayMs` in each direction (so a round trip costs 2 x delayMs more), in order. It can also
// play a link that is cut: `cut()` resets the connections through it and refuses new ones until
// `restore()`; or one that goes silent, as when the far host vanished without a word: `stall()`
// accepts connections and drops every byte, resetting nothing. (tc netem is not available in this
// kernel; see ../shared/notes/servers.md.)
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface DelayProxy {
  port: number;
  delayMs: number;
  /** Reset every connection through the link and refuse new ones. */
  cut(): void;
  /** Drop every byte in either direction from now on; connections stay open, new ones are
   * accepted. */
  stall(): void;
  /** Back to forwarding; connections that lost bytes to a stall are reset. */
  restore(): void;
  stop(): Promise<void>;
}

/** Forward `from` to `to`, each chunk `delayMs` late, keeping their order; while `silent()`, chunks
 * are dropped and `lost()` is told. */
function delayed(from: Socket, to: Socket, delayMs: number, silent: () => boolean, lost: () => void): void {
  from.on('data', (chunk: Buffer) => {
    if (silent()) {
      lost();
      return;
    }
    if (delayMs === 0) {
      to.write(chunk);
      return;
    }
    // Timers of one duration fire in the order they were set: the stream stays in order.
    setTimeout(() => { if (!to.destroyed) to.write(chunk); }, delayMs);
  });
  // A silent far side hears no FIN either: nothing tells it the other end left.
  from.on('end', () => {
    if (silent()) {
      lost();
      return;
    }
    setTimeout(() => to.end(), delayMs);
  });
}

export async function startDelayProxy(options: { targetPort: number; targetHost?: string; delayMs: number }): Promise<DelayProxy> {
  const open = new Set<Socket>();
  /** Connections that lost bytes to a stall: their streams are broken. */
  const damaged = new Set<Socket>();
  let isCut = false;
  let isStalled = false;
  const silent = () => isStalled;
  const server: Server = createServer((client) => {
    if (isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ port: options.targetPort, host: options.targetHost ?? '127.0.0.1' });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => {
        open.delete(s);
        client.destroy();
        upstream.destroy();
      });
      s.on('error', () => undefined);
    }
    const lost = () => damaged.add(client);
    delayed(client, upstream, options.delayMs, silent, lost);
    delayed(upstream, client, options.delayMs, silent, lost);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    delayMs: options.delayMs,
    cut() {
      isCut = true;
      for (const s of open) s.resetAndDestroy();
    },
    stall() {
      isStalled = true;
    },
    restore() {
      isCut = false;
      isStalled = false;
      for (const s of damaged) if (!s.destroyed) s.resetAndDestroy();
      damaged.clear();
    },
    async stop() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
