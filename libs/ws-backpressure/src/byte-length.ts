/** Size in bytes of what ws will frame for `data` (UTF-8 for strings). */
export function byteLengthOf(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (ArrayBuffer.isView(data) || data instanceof ArrayBuffer) return data.byteLength;
  if (typeof data === 'number') return String(data).length;
  if (Array.isArray(data)) return data.length;
  if (typeof data === 'object' && data !== null && typeof (data as Blob).size === 'number') {
    return (data as Blob).size;
  }
  return 0;
}

/** A cheap upper bound of {@link byteLengthOf}: a UTF-16 code unit is at most 3 UTF-8 bytes. */
export function byteLengthUpperBound(data: unknown): number {
  return typeof data === 'string' ? data.length * 3 : byteLengthOf(data);
}

/** `1.5 MiB`, `12 KiB`, `300 B`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
