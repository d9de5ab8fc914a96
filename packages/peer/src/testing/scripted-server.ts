import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';

/** What the scripted server answers to a client event with an ack (it acks every one). */
export type Answer = (event: string, payload: unknown) => unknown;

export interface ScriptedServer {
  readonly url: string;
  readonly port: number;
  /** Every event clients sent, in order. */
  readonly received: [string, unknown][];
  /** The latest client's socket. */
  socket(): Socket | undefined;
  /** Stops it as a process would: every client sees its transport close. */
  close(): Promise<void>;
}

/**
 * A real socket.io server on 127.0.0.1 whose answers a test scripts: the client code under test
 * speaks to it exactly as to the signaling server. Listening on a given port lets a test start
 * it again where a client will reconnect, as after a server restart.
 */
export async function startScriptedServer(answer: Answer, port = 0): Promise<ScriptedServer> {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', resolve);
  });
  const received: [string, unknown][] = [];
  let latest: Socket | undefined;
  io.on('connection', (socket) => {
    latest = socket;
    socket.onAny((event: string, payload: unknown, ack?: (result: unknown) => void) => {
      received.push([event, payload]);
      ack?.(answer(event, payload));
    });
  });
  const bound = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    received,
    socket: () => latest,
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  };
}
