/**
 * Reading an input file (scenario, manifest, CSV, JSON) without trusting it: stat first, refuse what is not a
 * regular file (a FIFO would block, /dev/zero never ends) or is larger than the input limit, then read with a
 * byte cap, so a file that grows while read is refused too. Every refusal is an InputError naming the file.
 */
import fs from 'node:fs';
import { InputError } from '../errors.js';
import { limit, LIMIT_DEFS, fmtCount } from './limits.js';

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'a parent of it is not a directory';
  if (code === 'ELOOP') return 'too many symbolic links';
  if (code === 'ENAMETOOLONG') return 'file name too long';
  return `cannot read (${code ?? (e instanceof Error ? e.message.split('\n')[0] : String(e))})`;
}

/** Checks `file` is a regular file within the input limit; returns its size. `where` names it in errors. */
export function statInput(file: string, where = file): number {
  if (file === '') throw new InputError(where, 'empty file name');
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new InputError(where, fsReason(e));
  }
  if (!st.isFile()) throw new InputError(where, `is ${kindOf(st)}, expected a regular file`);
  const max = limit('inputBytes');
  if (st.size > max)
    throw new InputError(
      where,
      `is ${fmtCount(st.size)} bytes, more than the input limit of ${fmtCount(max)} (${LIMIT_DEFS.inputBytes.env})`,
    );
  return st.size;
}

function readCapped(fd: number, max: number, where: string): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw new InputError(where, fsReason(e));
    }
    if (n === 0) break;
    total += n;
    if (total > max) throw new InputError(where, `is more than the input limit of ${fmtCount(max)} bytes (${LIMIT_DEFS.inputBytes.env})`);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks, total);
}

/** The text of input file `file` ('-': standard input), refused when not a regular file or over the limit. */
export function readInputText(file: string, where = file): string {
  const max = limit('inputBytes');
  if (file === '-') return readCapped(0, max, '<stdin>').toString('utf8');
  statInput(file, where);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new InputError(where, fsReason(e));
  }
  try {
    return readCapped(fd, max, where).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
