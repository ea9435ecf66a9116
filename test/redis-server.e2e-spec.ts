import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveChildPids, pendingCleanups, stopAll } from './support/children';
import { canConnect, isPortFree } from './support/free-port';
import {
  REDIS_INSTALL_HINT,
  startRedisServer,
  type RedisServerHandle,
} from './support/redis-server';
import { redisCommand, RespError } from './support/resp';

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

describe('startRedisServer (real redis-server child)', () => {
  let redis: RedisServerHandle;

  beforeAll(async () => {
    redis = await startRedisServer();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('runs our own child on a loopback port and answers PING', async () => {
    expect(redis.host).toBe('127.0.0.1');
    expect(redis.port).not.toBe(6379);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(processExists(redis.pid)).toBe(true);
    expect(liveChildPids()).toContain(redis.pid);
    expect(await redis.command('PING')).toBe('PONG');
    const info = await redis.command('INFO', 'server');
    expect(info).toEqual(expect.stringContaining(`process_id:${redis.pid}\r\n`));
    expect(info).toEqual(expect.stringContaining(`tcp_port:${redis.port}\r\n`));
  });

  it('SET/GET a key through the raw RESP helper', async () => {
    const key = `steady:test:${process.pid}:${Date.now()}`;
    const value = 'line one\r\nline two, ünïcødé';
    expect(await redisCommand(redis.port, 'SET', key, value)).toBe('OK');
    expect(await redisCommand(redis.port, 'GET', key)).toBe(value);
    expect(await redis.command('STRLEN', key)).toBe(Buffer.byteLength(value));
    expect(await redis.command('GET', `${key}:missing`)).toBeNull();
    expect(await redis.command('RPUSH', `${key}:list`, 'a', 'b', 3)).toBe(3);
    expect(await redis.command('LRANGE', `${key}:list`, 0, -1)).toEqual(['a', 'b', '3']);
    expect(await redis.command('DEL', key, `${key}:list`)).toBe(2);
    expect(await redis.command('EXISTS', key)).toBe(0);
  });

  it('rejects an error reply with RespError', async () => {
    await redis.command('SET', 'steady:not-a-number', 'abc');
    const failure = redis.command('INCR', 'steady:not-a-number');
    await expect(failure).rejects.toBeInstanceOf(RespError);
    await expect(failure).rejects.toThrow(/not an integer/);
  });

  it('runs without persistence, in the foreground, bound to loopback', async () => {
    expect(await redis.command('CONFIG', 'GET', 'save')).toEqual(['save', '']);
    expect(await redis.command('CONFIG', 'GET', 'appendonly')).toEqual(['appendonly', 'no']);
    expect(await redis.command('CONFIG', 'GET', 'daemonize')).toEqual(['daemonize', 'no']);
    expect(await redis.command('CONFIG', 'GET', 'bind')).toEqual(['bind', '127.0.0.1']);
  });

  it('stop() kills the child, awaits its exit, frees the port; a second stop() is harmless', async () => {
    const other = await startRedisServer();
    expect(other.port).not.toBe(redis.port);
    expect(await other.command('PING')).toBe('PONG');

    const exit = await other.stop();
    expect(exit.code !== null || exit.signal !== null).toBe(true);
    expect(other.child.exitInfo()).toEqual(exit);
    expect(other.child.process.exitCode !== null || other.child.process.signalCode !== null).toBe(
      true,
    );
    expect(processExists(other.pid)).toBe(false);
    expect(liveChildPids()).not.toContain(other.pid);
    expect(await canConnect(other.port)).toBe(false);
    expect(await isPortFree(other.port)).toBe(true);
    await expect(other.command('PING')).rejects.toThrow(/ECONNREFUSED/);

    expect(await other.stop()).toEqual(exit);
    // The shared instance is untouched.
    expect(await redis.command('PING')).toBe('PONG');
  });

  it('stopAll() stops a server whose owner forgot to call stop()', async () => {
    const forgotten = await startRedisServer();
    expect(pendingCleanups()).toContain(`redis-server :${forgotten.port}`);
    // Take the shared instance out of the registry first, so stopAll() only meets `forgotten`.
    await redis.stop();
    await stopAll();
    expect(forgotten.child.exitInfo()).toBeDefined();
    expect(processExists(forgotten.pid)).toBe(false);
    expect(await canConnect(forgotten.port)).toBe(false);
    expect(pendingCleanups()).toEqual([]);
    redis = await startRedisServer();
  });

  it('an early exit reports the server output', async () => {
    const failure = startRedisServer({ extraArgs: ['--no-such-directive', 'yes'] });
    await expect(failure).rejects.toThrow(/exited early/);
    await expect(failure).rejects.toThrow(/no-such-directive/);
    expect(liveChildPids()).toEqual([redis.pid]);
  });

  it('a fixed port that is taken fails with the output tail instead of talking to the squatter', async () => {
    // Accept and drop connections: an unread accepted socket would keep close() waiting forever.
    const squatter: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const address = squatter.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      await expect(startRedisServer({ port: address.port })).rejects.toThrow(
        /exited early[\s\S]*(Address already in use|Could not create server TCP)/i,
      );
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  it('a missing binary fails with the install command, never a skip', async () => {
    await expect(startRedisServer({ binary: '/nonexistent/redis-server' })).rejects.toThrow(
      REDIS_INSTALL_HINT,
    );
    await expect(startRedisServer({ binary: 'redis-server-steady-missing' })).rejects.toThrow(
      `Install it, then re-run the tests: ${REDIS_INSTALL_HINT}`,
    );
  });
});
