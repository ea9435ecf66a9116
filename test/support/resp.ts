/**
 * A tiny RESP2 client for tests: encode a command, parse one reply, over a raw TCP socket.
 * No Redis client library is involved, so the tests see exactly what the server answers.
 */
import { createConnection } from 'node:net';
import { LOOPBACK } from './free-port';

/** An error reply (`-ERR ...`), either thrown for a top-level reply or kept inside an array. */
export class RespError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RespError';
  }
}

export type RespValue = string | number | null | RespError | RespValue[];
export type RespArg = string | number | Buffer;

export interface RespParse {
  value: RespValue;
  /** Offset just past the parsed reply. */
  offset: number;
}

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly RespArg[]): Buffer {
  if (args.length === 0) throw new Error('encodeCommand: empty command');
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg), 'utf8');
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/**
 * Parses one RESP2 reply starting at `offset`. Returns undefined when `buf` does not yet hold a
 * complete reply; throws on malformed input.
 */
export function parseReply(buf: Buffer, offset = 0): RespParse | undefined {
  if (offset >= buf.length) return undefined;
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buf[offset]!);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;

  switch (type) {
    case '+':
      return { value: line, offset: next };
    case '-':
      return { value: new RespError(line), offset: next };
    case ':':
      return { value: parseInteger(line), offset: next };
    case '$': {
      const len = parseInteger(line);
      if (len === -1) return { value: null, offset: next };
      if (len < -1) throw new Error(`RESP: bad bulk length ${len}`);
      if (buf.length < next + len + 2) return undefined;
      if (buf[next + len] !== 0x0d || buf[next + len + 1] !== 0x0a) {
        throw new Error('RESP: bulk string not terminated by CRLF');
      }
      return { value: buf.toString('utf8', next, next + len), offset: next + len + 2 };
    }
    case '*': {
      const count = parseInteger(line);
      if (count === -1) return { value: null, offset: next };
      if (count < -1) throw new Error(`RESP: bad array length ${count}`);
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, pos);
        if (item === undefined) return undefined;
        items.push(item.value);
        pos = item.offset;
      }
      return { value: items, offset: pos };
    }
    default:
      throw new Error(`RESP: unknown type byte ${JSON.stringify(type)}`);
  }
}

function parseInteger(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new Error(`RESP: bad integer ${JSON.stringify(text)}`);
  return Number(text);
}

export interface RedisTarget {
  port: number;
  host?: string;
  /** Connect + reply deadline; default 2 000 ms. */
  timeoutMs?: number;
}

/**
 * Sends one command on a fresh connection and resolves with the parsed reply.
 * An error reply rejects with RespError.
 */
export function sendCommand(target: RedisTarget, args: readonly RespArg[]): Promise<RespValue> {
  const payload = encodeCommand(args);
  return new Promise<RespValue>((resolve, reject) => {
    const socket = createConnection({ host: target.host ?? LOOPBACK, port: target.port });
    let buffered = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | undefined, value?: RespValue): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(`redis ${String(args[0])}: no reply within ${target.timeoutMs ?? 2_000} ms`),
        ),
      target.timeoutMs ?? 2_000,
    );
    socket.once('connect', () => socket.write(payload));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      let parsed: RespParse | undefined;
      try {
        parsed = parseReply(buffered);
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (parsed === undefined) return;
      if (parsed.value instanceof RespError) finish(parsed.value);
      else finish(undefined, parsed.value);
    });
    socket.once('error', (err) => finish(err));
    socket.once('close', () =>
      finish(new Error(`redis ${String(args[0])}: connection closed before a reply`)),
    );
  });
}

/** `redisCommand(port, 'SET', 'k', 'v')` against 127.0.0.1. */
export function redisCommand(port: number, ...args: RespArg[]): Promise<RespValue> {
  return sendCommand({ port }, args);
}
