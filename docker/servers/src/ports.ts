import { createServer } from 'node:net';

/** Ports handed out by this process, so two servers started at once here never get the same one. */
const handedOut = new Set<number>();

function bindEphemeral(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

/**
 * A TCP port that was free on `host` a moment ago: bind port 0, read the port, release it. Another process can still
 * take it before the server binds it; callers retry on "address already in use".
 */
export async function pickFreePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await bindEphemeral(host);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free TCP port found on ${host}`);
}

/** Lets the port be handed out again (after its server stopped). */
export function releasePort(port: number): void {
  handedOut.delete(port);
}
