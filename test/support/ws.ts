import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import WebSocket from 'ws';

/** Polls `predicate` every 5 ms until it holds; throws after `timeoutMs`. */
export async function until(
  predicate: () => boolean,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** An open `ws` client to `ws://127.0.0.1:<port><path>`. */
export function connectWs(port: number, path: string, timeoutMs = 5_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`ws connect to ${path} timed out`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Resolves with the close code of `ws` (bounded). */
export function closeCode(ws: WebSocket, timeoutMs = 5_000): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no close within timeout')), timeoutMs);
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** The next text message of `ws` parsed as JSON that satisfies `predicate` (bounded). */
export function nextJson<T = { event: string; data: unknown }>(
  ws: WebSocket,
  predicate: (m: T) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.off('message', onMessage);
      reject(new Error('no matching message within timeout'));
    }, timeoutMs);
    const onMessage = (data: WebSocket.RawData) => {
      let m: T;
      try {
        m = JSON.parse(data.toString()) as T;
      } catch {
        return;
      }
      if (!predicate(m)) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(m);
    };
    ws.on('message', onMessage);
  });
}

/** A raw TCP socket that completed the WebSocket upgrade on 127.0.0.1. */
export interface RawClient {
  socket: net.Socket;
  /** Bytes received but not yet parsed (after the 101 response, or after the last frame a reader took). */
  head: Buffer;
  destroy(): void;
}

/**
 * Opens a TCP connection, sends the RFC 6455 upgrade request by hand and waits for `101`. With `stall`, the
 * socket is paused right after: it never reads again, so the kernel's buffers fill and then the server's — the
 * slow consumer of the incident, without netem or root.
 */
export function rawUpgrade(
  port: number,
  path: string,
  options: { stall?: boolean; timeoutMs?: number } = {},
): Promise<RawClient> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw upgrade to ${path} timed out`));
    }, timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      const key = randomBytes(16).toString('base64');
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      clearTimeout(timer);
      const status = buffered.subarray(0, buffered.indexOf('\r\n')).toString();
      if (!status.includes(' 101 ')) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${status}`));
        return;
      }
      socket.off('error', fail);
      socket.on('error', () => undefined);
      if (options.stall) socket.pause();
      resolve({
        socket,
        head: buffered.subarray(end + 4),
        destroy: () => socket.destroy(),
      });
    };
    socket.on('data', onData);
  });
}

/** Encodes one client frame (masked unless `mask: false`). */
export function clientFrame(
  opcode: number,
  payload: Buffer | string,
  options: { mask?: boolean; fin?: boolean; rsv1?: boolean } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const mask = options.mask ?? true;
  const first = ((options.fin ?? true) ? 0x80 : 0) | (options.rsv1 ? 0x40 : 0) | opcode;
  let header: Buffer;
  if (data.length < 126) {
    header = Buffer.from([first, (mask ? 0x80 : 0) | data.length]);
  } else if (data.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = (mask ? 0x80 : 0) | 126;
    header.writeUInt16BE(data.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = (mask ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  if (!mask) return Buffer.concat([header, data]);
  const key = randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([header, key, masked]);
}

/**
 * Reads server frames from a raw client until a close frame; resolves with its code (1005 when it has none),
 * or -1 if the socket ended without one. Bounded by `timeoutMs`.
 */
export function readCloseFrame(client: RawClient, timeoutMs = 5_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = client.head;
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error('no close frame within timeout'));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      client.socket.off('data', onData);
      client.socket.off('close', onClose);
    };
    const parse = (): boolean => {
      while (buf.length >= 2) {
        const opcode = buf[0] & 0x0f;
        let len = buf[1] & 0x7f;
        let offset = 2;
        if (len === 126) {
          if (buf.length < 4) return false;
          len = buf.readUInt16BE(2);
          offset = 4;
        } else if (len === 127) {
          if (buf.length < 10) return false;
          len = Number(buf.readBigUInt64BE(2));
          offset = 10;
        }
        if (buf.length < offset + len) return false;
        if (opcode === 0x8) {
          cleanup();
          resolve(len >= 2 ? buf.readUInt16BE(offset) : 1005);
          return true;
        }
        buf = buf.subarray(offset + len);
      }
      return false;
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      parse();
    };
    const onClose = () => {
      if (parse()) return;
      cleanup();
      resolve(-1);
    };
    client.socket.on('data', onData);
    client.socket.on('close', onClose);
    client.socket.resume();
    parse();
  });
}

/**
 * Reads server text frames from a raw client (resuming it) until `stop` returns true for one; resolves with the
 * texts that `keep` accepts. Bytes after the stop frame stay in `client.head` for the next reader. Bounded.
 */
export function readTextFrames(
  client: RawClient,
  stop: (text: string) => boolean,
  keep: (text: string) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const texts: string[] = [];
    let buf = client.head;
    client.head = Buffer.alloc(0);
    const timer = setTimeout(() => {
      client.socket.off('data', onData);
      reject(new Error(`stop frame not seen within ${timeoutMs} ms; ${texts.length} frames kept`));
    }, timeoutMs);
    const parse = (): void => {
      while (buf.length >= 2) {
        let len = buf[1] & 0x7f;
        let offset = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          offset = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          offset = 10;
        }
        if (buf.length < offset + len) return;
        const opcode = buf[0] & 0x0f;
        const text = opcode === 0x1 ? buf.toString('utf8', offset, offset + len) : undefined;
        buf = buf.subarray(offset + len);
        if (text === undefined) continue;
        if (keep(text)) texts.push(text);
        if (stop(text)) {
          clearTimeout(timer);
          client.socket.off('data', onData);
          client.head = buf;
          resolve(texts);
          return;
        }
      }
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      parse();
    };
    client.socket.on('data', onData);
    client.socket.resume();
    parse();
  });
}
