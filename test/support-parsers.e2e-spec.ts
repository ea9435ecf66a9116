// Pure parts of the test helpers (RESP, `show servers state`, HAProxy config rendering) plus the
// child registry. Lives under test/ as an e2e spec because the unit project only includes libs/,
// apps/ and bench/.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  liveChildPids,
  MissingBinaryError,
  pendingCleanups,
  registerCleanup,
  resolveBinary,
  spawnManaged,
  stopAll,
} from './support/children';
import { canConnect, getFreePort, isPortFree } from './support/free-port';
import {
  CHK_RES,
  isServerUp,
  parseServersState,
  renderHaproxyConfig,
  SRV_ADMIN,
  SRV_OP,
  type ServerStateRow,
  type StartHaproxyOptions,
} from './support/haproxy';
import { encodeCommand, parseReply, RespError } from './support/resp';

describe('RESP encoder', () => {
  it('encodes a command as an array of bulk strings, byte lengths included', () => {
    expect(encodeCommand(['SET', 'k', 'vé']).toString('utf8')).toBe(
      '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nvé\r\n',
    );
    expect(encodeCommand(['EXPIRE', 'k', 10]).toString()).toBe(
      '*3\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$2\r\n10\r\n',
    );
    expect(encodeCommand(['SET', 'k', Buffer.from([0, 13, 10])])).toEqual(
      Buffer.concat([
        Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n'),
        Buffer.from([0, 13, 10, 13, 10]),
      ]),
    );
    expect(encodeCommand(['SET', 'k', '']).toString()).toBe(
      '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n',
    );
  });

  it('refuses an empty command', () => {
    expect(() => encodeCommand([])).toThrow(/empty command/);
  });
});

describe('RESP parser', () => {
  const parse = (text: string) => parseReply(Buffer.from(text, 'utf8'));

  it('parses the RESP2 scalar types', () => {
    expect(parse('+OK\r\n')).toEqual({ value: 'OK', offset: 5 });
    expect(parse(':42\r\n')).toEqual({ value: 42, offset: 5 });
    expect(parse(':-7\r\n')?.value).toBe(-7);
    expect(parse('$5\r\nhello\r\n')).toEqual({ value: 'hello', offset: 11 });
    expect(parse('$0\r\n\r\n')).toEqual({ value: '', offset: 6 });
    expect(parse('$-1\r\n')).toEqual({ value: null, offset: 5 });
    expect(parse('*-1\r\n')).toEqual({ value: null, offset: 5 });
  });

  it('parses an error reply as a RespError value', () => {
    const parsed = parse('-ERR unknown command\r\n');
    expect(parsed?.value).toBeInstanceOf(RespError);
    expect((parsed?.value as RespError).message).toBe('ERR unknown command');
  });

  it('keeps CRLF and multi-byte text inside bulk strings', () => {
    const value = 'a\r\nb ü';
    const bytes = Buffer.byteLength(value);
    expect(parse(`$${bytes}\r\n${value}\r\n`)?.value).toBe(value);
  });

  it('parses nested arrays, including nulls and errors inside', () => {
    const parsed = parse('*4\r\n$4\r\nsave\r\n:1\r\n*2\r\n$-1\r\n+x\r\n-WRONGTYPE bad\r\n');
    expect(parsed?.value).toEqual(['save', 1, [null, 'x'], expect.any(RespError)]);
    expect(parse('*0\r\n')?.value).toEqual([]);
  });

  it('returns undefined for every incomplete prefix and parses the complete reply', () => {
    const full = Buffer.from('*3\r\n$3\r\nfoo\r\n:12\r\n*1\r\n$2\r\nhi\r\n');
    for (let i = 0; i < full.length; i++) {
      expect(parseReply(full.subarray(0, i)), `prefix of ${i} bytes`).toBeUndefined();
    }
    expect(parseReply(full)).toEqual({ value: ['foo', 12, ['hi']], offset: full.length });
  });

  it('reports the offset after one reply so pipelined replies can be read in turn', () => {
    const buf = Buffer.from('+PONG\r\n:3\r\n');
    const first = parseReply(buf);
    expect(first).toEqual({ value: 'PONG', offset: 7 });
    expect(parseReply(buf, first?.offset)).toEqual({ value: 3, offset: buf.length });
  });

  it('throws on malformed input', () => {
    expect(() => parse('?what\r\n')).toThrow(/unknown type byte/);
    expect(() => parse(':12a\r\n')).toThrow(/bad integer/);
    expect(() => parse('$3\r\nabcde\r\n')).toThrow(/not terminated/);
    expect(() => parse('$-2\r\n')).toThrow(/bad bulk length/);
  });
});

// Captured from haproxy 2.6.12: `show servers state be` with a, b (agent-check) and c (no check).
const SERVERS_STATE = [
  '1',
  '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port',
  '3 be 1 a 127.0.0.1 2 0 1 1 5 15 3 3 6 0 0 0 - 18381 - 0 0 - - 0',
  '3 be 2 b 127.0.0.1 0 1 1 1 0 15 3 0 14 22 0 0 - 18382 - 0 0 - - 18383',
  '3 be 3 c 127.0.0.1 2 0 1 1 9 0 0 0 0 0 0 0 - 18384 - 0 0 - - 0',
  '',
  '',
].join('\n');

describe('parseServersState', () => {
  it('maps every column by its header name and types the numeric ones', () => {
    const rows = parseServersState(SERVERS_STATE);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({
      backendId: 3,
      backendName: 'be',
      serverId: 1,
      serverName: 'a',
      address: '127.0.0.1',
      opState: SRV_OP.RUNNING,
      adminState: 0,
      userWeight: 1,
      initialWeight: 1,
      secondsSinceChange: 5,
      checkStatus: 15,
      checkResult: CHK_RES.PASSED,
      checkHealth: 3,
      checkState: 6,
      agentState: 0,
      port: 18381,
    });
    expect(rows[1]).toMatchObject({ serverName: 'b', opState: 0, adminState: SRV_ADMIN.FMAINT });
    expect(rows[1]?.raw.srv_agent_port).toBe('18383');
    expect(rows[1]?.agentState).toBe(22);
    expect(Object.keys(rows[2]!.raw)).toHaveLength(25);
  });

  it('rejects answers that are not a version-1 state dump', () => {
    expect(() => parseServersState("Can't find backend.\n")).toThrow(/unexpected/);
    expect(() => parseServersState('')).toThrow(/unexpected/);
    expect(() => parseServersState('1\n3 be 1 a\n')).toThrow(/missing header/);
    expect(() => parseServersState('1\n# be_id be_name srv_id srv_name\n3 be\n')).toThrow(
      /short row/,
    );
    expect(() =>
      parseServersState('1\n# be_id be_name srv_id srv_name srv_op_state\n3 be 1 a up\n'),
    ).toThrow(/srv_op_state="up" is not a number/);
  });

  it('returns no rows for a backend without servers', () => {
    expect(parseServersState('1\n# be_id be_name srv_id srv_name\n\n')).toEqual([]);
  });
});

describe('isServerUp', () => {
  const [checked, , unchecked] = parseServersState(SERVERS_STATE) as [
    ServerStateRow,
    ServerStateRow,
    ServerStateRow,
  ];

  it('needs op_state 2, no maint/drain bit and a passed check when one is configured', () => {
    expect(isServerUp(checked)).toBe(true);
    expect(isServerUp(unchecked)).toBe(true);
    expect(isServerUp({ ...checked, opState: SRV_OP.STOPPING })).toBe(false);
    expect(isServerUp({ ...checked, opState: SRV_OP.STOPPED })).toBe(false);
    expect(isServerUp({ ...checked, adminState: SRV_ADMIN.FDRAIN })).toBe(false);
    expect(isServerUp({ ...checked, adminState: SRV_ADMIN.IDRAIN })).toBe(false);
    expect(isServerUp({ ...checked, adminState: SRV_ADMIN.FMAINT })).toBe(false);
    // Running but the first check has not completed yet.
    expect(isServerUp({ ...checked, checkResult: CHK_RES.UNKNOWN })).toBe(false);
    expect(isServerUp({ ...checked, checkResult: CHK_RES.CONDPASS })).toBe(true);
  });
});

describe('renderHaproxyConfig', () => {
  const runtime = { frontendPort: 18080, socketPath: '/tmp/x/admin.sock' };
  const base: StartHaproxyOptions = {
    backends: [{ name: 'app', host: '127.0.0.1', port: 18081 }],
  };

  it('renders the strict test profile by default', () => {
    const cfg = renderHaproxyConfig(base, runtime);
    expect(cfg).toMatch(/^global\n {4}stats socket \/tmp\/x\/admin\.sock mode 600 level admin$/m);
    expect(cfg).toMatch(/^defaults\n {4}mode http$/m);
    expect(cfg).toContain('    retries 0\n    retry-on none\n');
    expect(cfg).toContain('frontend fe\n    bind 127.0.0.1:18080\n    default_backend be\n');
    expect(cfg).toContain('backend be\n    balance roundrobin\n    option httpchk\n');
    expect(cfg).toContain(
      '    http-check send meth GET uri / ver HTTP/1.1 hdr Host localhost\n    http-check expect status 200\n',
    );
    expect(cfg).toContain('    default-server inter 200ms fastinter 100ms fall 2 rise 2\n');
    expect(cfg).toContain('    server app 127.0.0.1:18081 check\n');
    expect(cfg).not.toMatch(/daemon/);
  });

  it('renders per-server checks, agent-check and extras', () => {
    const cfg = renderHaproxyConfig(
      {
        backendName: 'pool',
        frontendName: 'edge',
        backends: [
          {
            name: 'a',
            host: '127.0.0.1',
            port: 1,
            check: { inter: '2s', fall: 3, rise: 1 },
            agent: { port: 2, inter: 150 },
          },
          { name: 'b', host: '127.0.0.2', port: 3, check: false, weight: 10, extra: ['backup'] },
        ],
        httpCheck: { path: '/health/ready', method: 'HEAD', disableOn404: true },
        defaultCheck: { inter: 1000 },
        retries: 2,
        extra: { global: ['nbthread 1'], sections: ['listen extra\n    bind 127.0.0.1:1'] },
      },
      runtime,
    );
    expect(cfg).toContain(
      '    server a 127.0.0.1:1 check inter 2s fall 3 rise 1 agent-check agent-port 2 agent-inter 150ms\n',
    );
    expect(cfg).toContain('    server b 127.0.0.2:3 weight 10 backup\n');
    expect(cfg).toContain(
      '    http-check send meth HEAD uri /health/ready ver HTTP/1.1 hdr Host localhost\n',
    );
    expect(cfg).toContain('    http-check disable-on-404\n');
    expect(cfg).not.toContain('http-check expect');
    expect(cfg).toContain('    default-server inter 1000ms fastinter 100ms fall 2 rise 2\n');
    expect(cfg).toContain('    retries 2\n');
    expect(cfg).not.toContain('retry-on none');
    expect(cfg).toContain('frontend edge\n    bind 127.0.0.1:18080\n    default_backend pool\n');
    expect(cfg).toContain('    nbthread 1\n');
    expect(cfg.trimEnd().endsWith('listen extra\n    bind 127.0.0.1:1')).toBe(true);
  });

  it('omits option httpchk for plain TCP checks', () => {
    const cfg = renderHaproxyConfig({ ...base, httpCheck: false }, runtime);
    expect(cfg).not.toContain('httpchk');
    expect(cfg).not.toContain('http-check');
    expect(cfg).toContain('server app 127.0.0.1:18081 check');
  });

  it('refuses names and paths that would corrupt the config', () => {
    expect(() => renderHaproxyConfig({ backends: [] }, runtime)).toThrow(/at least one/);
    expect(() =>
      renderHaproxyConfig({ backends: [{ name: 'a b', host: 'h', port: 1 }] }, runtime),
    ).toThrow(/invalid server name/);
    expect(() => renderHaproxyConfig({ ...base, backendName: 'be\nx' }, runtime)).toThrow(
      /invalid backend name/,
    );
    expect(() => renderHaproxyConfig({ ...base, httpCheck: { path: '/a b' } }, runtime)).toThrow(
      /must not contain spaces/,
    );
  });
});

describe('resolveBinary', () => {
  it('finds an executable on PATH', () => {
    expect(resolveBinary('sh', 'apt-get install -y dash')).toMatch(/\/sh$/);
  });

  it('throws MissingBinaryError carrying the install command', () => {
    const hint = 'apt-get update && apt-get install -y steady-nothing';
    let caught: unknown;
    try {
      resolveBinary('steady-no-such-binary', hint);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MissingBinaryError);
    expect((caught as Error).message).toContain('steady-no-such-binary not found');
    expect((caught as Error).message).toContain(hint);
  });

  it('rejects an explicit path that is not an executable file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steady-bin-'));
    try {
      const file = join(dir, 'not-executable');
      await writeFile(file, '#!/bin/sh\n', { mode: 0o644 });
      expect(() => resolveBinary('x', 'hint', file)).toThrow(/not an executable file/);
      expect(() => resolveBinary('x', 'hint', dir)).toThrow(/not an executable file/);
      await chmod(file, 0o755);
      expect(resolveBinary('x', 'hint', file)).toBe(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('free-port helpers', () => {
  it('getFreePort returns a bindable loopback port, isPortFree/canConnect follow a listener', async () => {
    const port = await getFreePort();
    expect(port).toBeGreaterThan(0);
    expect(await isPortFree(port)).toBe(true);
    expect(await canConnect(port)).toBe(false);

    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await isPortFree(port)).toBe(false);
      expect(await canConnect(port)).toBe(true);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(await isPortFree(port)).toBe(true);
  });
});

describe('child registry', () => {
  afterEach(async () => {
    await stopAll();
  });

  it('stopAll() runs every registered cleanup once and forgets it', async () => {
    const calls: string[] = [];
    registerCleanup('one', async () => calls.push('one'));
    const unregister = registerCleanup('two', async () => calls.push('two'));
    registerCleanup('three', async () => calls.push('three'));
    unregister();
    expect(pendingCleanups()).toEqual(['one', 'three']);
    await stopAll();
    await stopAll();
    expect(calls.sort()).toEqual(['one', 'three']);
    expect(pendingCleanups()).toEqual([]);
  });

  it('stopAll() runs the others when one cleanup fails, then reports the failure', async () => {
    const calls: string[] = [];
    registerCleanup('broken', async () => {
      throw new Error('boom');
    });
    registerCleanup('fine', async () => calls.push('fine'));
    await expect(stopAll()).rejects.toThrow(/broken: Error: boom/);
    expect(calls).toEqual(['fine']);
  });

  it('stop() sends SIGTERM and awaits the exit; stopAll() then has nothing left', async () => {
    const child = await spawnManaged('sleep', 'sleep', ['30']);
    expect(liveChildPids()).toContain(child.pid);
    expect(pendingCleanups()).toContain(`sleep (pid ${child.pid})`);
    const [first, second] = await Promise.all([child.stop(), child.stop()]);
    expect(first).toEqual({ code: null, signal: 'SIGTERM' });
    expect(second).toBe(first);
    expect(liveChildPids()).not.toContain(child.pid);
    expect(pendingCleanups()).toEqual([]);
  });

  it('escalates to SIGKILL when the child ignores SIGTERM', async () => {
    const child = await spawnManaged('stubborn', 'sh', [
      '-c',
      'trap "" TERM; echo armed; exec sleep 30',
    ]);
    // Wait until the trap is installed, or SIGTERM could arrive first.
    for (let i = 0; i < 100 && !child.output().includes('armed'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(child.output()).toContain('armed');
    const started = Date.now();
    const exit = await child.stop({ killAfterMs: 300 });
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('keeps the output tail of a child and its exit code', async () => {
    const child = await spawnManaged('echo', 'sh', [
      '-c',
      'echo to-stdout; echo to-stderr >&2; exit 3',
    ]);
    expect(await child.exited).toEqual({ code: 3, signal: null });
    expect(await child.stop()).toEqual({ code: 3, signal: null });
    expect(child.output()).toContain('to-stdout');
    expect(child.output()).toContain('to-stderr');
  });

  it('a missing command rejects with MissingBinaryError and the hint', async () => {
    await expect(
      spawnManaged('nope', '/nonexistent/steady-bin', [], {
        installHint: 'apt-get install -y nope',
      }),
    ).rejects.toThrow(/Install it, then re-run the tests: apt-get install -y nope/);
  });
});
