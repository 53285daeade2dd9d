/**
 * Varint encoders over a plain byte array, shared by the Writer and the record batch builder
 * (which writes records straight into its buffer). The caller guarantees room: 5 bytes for a
 * varint, 10 for a varlong. Internal: not exported from the protocol module.
 *
 * @module
 */

/** Writes the unsigned varint of a 32-bit `v` at `p`; returns the new position. */
export function putUvarint(b: Uint8Array, p: number, v: number): number {
  let u = v >>> 0;
  while (u >= 0x80) {
    b[p++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  b[p++] = u;
  return p;
}

/** Writes the zigzag varint of a signed 32-bit `v` at `p`; returns the new position. */
export function putVarint(b: Uint8Array, p: number, v: number): number {
  return putUvarint(b, p, (v << 1) ^ (v >> 31));
}

/**
 * Writes the zigzag varlong of a safe-integer `v` at `p`; returns the new position.
 * zigzag(v) = 2u + sign with u = v (v >= 0) or -v - 1 (v < 0); 2u + 1 is not exact in a double
 * once |v| > 2^52, so u is split into 32-bit halves and shifted as integers.
 */
export function putVarlong(b: Uint8Array, p: number, v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return putVarint(b, p, v);
  const sign = v < 0 ? 1 : 0;
  const u = sign ? -v - 1 : v;
  const lo = u >>> 0;
  let zlo = ((lo << 1) | sign) >>> 0;
  let zhi = (((u - lo) / 0x100000000) << 1) | (lo >>> 31);
  while (zhi !== 0) {
    b[p++] = (zlo & 0x7f) | 0x80;
    zlo = ((zlo >>> 7) | (zhi << 25)) >>> 0;
    zhi >>>= 7;
  }
  while (zlo >= 0x80) {
    b[p++] = (zlo & 0x7f) | 0x80;
    zlo >>>= 7;
  }
  b[p++] = zlo;
  return p;
}
