import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';

/**
 * The head fingerprint: a hash of the first bytes of a file, up to `FINGERPRINT_MAX`. It grows with the file (a
 * fresh file is fingerprinted on what it has, so tiny files are tracked at once), and together with device + inode
 * it tells a rename (same inode, same head) from inode reuse or a truncate-and-rewrite (same inode, new head).
 */
export const FINGERPRINT_MAX = 1024;

export function headHash(fd: number, len: number, scratch: Buffer): string {
  const n = len === 0 ? 0 : readSync(fd, scratch, 0, len, 0);
  return bytesHash(scratch, n) + (n === len ? '' : '!');
}

/** The fingerprint of `buf[0, len)`, head bytes already read (what `headHash` gives for a file holding them). */
export function bytesHash(buf: Buffer, len: number): string {
  return createHash('sha1').update(buf.subarray(0, len)).digest('hex').slice(0, 16);
}
