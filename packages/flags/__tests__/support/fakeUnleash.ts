import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the fake answers `GET /api/client/features`. */
export type FakeMode = 'ok' | 'down' | 'hang' | 'reset' | 'unauthorized';

/**
 * Unleash's client API as far as unleash-client polls it, on 127.0.0.1 and a free port: it serves
 * `state`, or fails as `mode` says. The real server is exercised by test/unleash.test.ts; this one
 * lets unit tests fail the server on cue.
 */
export class FakeUnleash {
  public mode: FakeMode = 'ok';
  public state: unknown = { version: 2, features: [] };
  public readonly requests: IncomingMessage[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();

  private constructor() {
    this.server = createServer((req, res) => this.answer(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  public static async start(): Promise<FakeUnleash> {
    const fake = new FakeUnleash();
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  public get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
  }

  /** Drops every connection, failing requests in flight. */
  public dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.hanging.clear();
  }

  public async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(req);
    switch (this.mode) {
      case 'ok':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.state));
        return;
      case 'down':
        res.writeHead(503).end();
        return;
      case 'unauthorized':
        res.writeHead(401).end();
        return;
      case 'hang':
        this.hanging.add(res);
        return;
      case 'reset':
        req.socket.destroy();
        return;
    }
  }
}
