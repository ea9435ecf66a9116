import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { ALLOWED_HOST } from '../lib/host';

/**
 * A slow consumer without netem or root: a TCP connection that completes the RFC 6455 upgrade by hand and then
 * never reads again (`socket.pause()`). The kernel's buffers fill first (~4 MiB on loopback), then the server's.
 */
export function connectStalled(port: number, path: string, timeoutMs = 5_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: ALLOWED_HOST, port });
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('stalled client: upgrade timed out'));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${ALLOWED_HOST}:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
          'Sec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      clearTimeout(timer);
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`stalled client: upgrade refused: ${head.split('\r\n')[0]}`));
        return;
      }
      socket.pause();
      socket.on('error', () => undefined);
      resolve(socket);
    };
    socket.on('data', onData);
  });
}
