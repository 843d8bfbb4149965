import { crc32c, maskCrc32c, unmaskCrc32c } from './crc32c';

/** Bit-at-a-time CRC-32C, the definition the tables must reproduce. */
function naive(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32c', () => {
  it('matches the published check values', () => {
    // The CRC catalogue's CRC-32/ISCSI check value and RFC 3720 (iSCSI) appendix B.4 vectors.
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('matches the bitwise definition at every length and alignment, and continues across chunks', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) & 0xff);
    for (let start = 0; start < 9; start++) {
      for (let len = 0; len < 40; len++) {
        const part = data.subarray(start, start + len);
        expect([start, len, crc32c(part)]).toEqual([start, len, naive(part)]);
      }
    }
    expect(crc32c(data.subarray(123), crc32c(data.subarray(0, 123)))).toBe(crc32c(data));
    // Any view: the bytes of a Float32Array.
    const f = new Float32Array([1.5, -2, 3.25]);
    expect(crc32c(f)).toBe(naive(new Uint8Array(f.buffer)));
  });

  it('masks as TensorFlow does', () => {
    // mask(0) = 0xa282ead8; mask(0xe3069283) = rotr15(0xe3069283) + 0xa282ead8.
    expect(maskCrc32c(0)).toBe(0xa282ead8);
    const rot = ((0xe3069283 >>> 15) | (0xe3069283 << 17)) >>> 0;
    expect(rot).toBe(0x2507c60d);
    expect(maskCrc32c(0xe3069283)).toBe((0x2507c60d + 0xa282ead8) % 2 ** 32);
    for (const c of [0, 1, 0xffffffff, 0x12345678, 0xe3069283]) expect(unmaskCrc32c(maskCrc32c(c))).toBe(c);
  });
});
