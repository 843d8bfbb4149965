import {
  checkNumBuckets,
  fingerprint64,
  fingerprint64Batch,
  hashBuckets,
  hashStringsToBuckets,
  packStrings,
} from './hash';

describe('fingerprint64', () => {
  it('matches TensorFlow Fingerprint64 (frozen values)', () => {
    expect(fingerprint64('Hello')).toBe(15404698994557526151n);
    expect(fingerprint64('World')).toBe(18308117990299812472n);
    expect(fingerprint64('')).toBe(0x9ae16a3b2f90404fn);
    expect(fingerprint64(Buffer.from('a'))).toBe(12917804110809363939n);
  });

  it('hashes the UTF-8 bytes of non-ASCII strings', () => {
    expect(fingerprint64('héllo')).toBe(fingerprint64(Buffer.from('héllo', 'utf8')));
    expect(fingerprint64('héllo')).not.toBe(fingerprint64('hello'));
  });

  it('hashes long strings (block loop) as the C++ test vectors', () => {
    const s =
      'The fugacity of a constituent in a mixture of gases at a given temperature is proportional to its mole fraction.  Lewis-Randall Rule';
    expect(fingerprint64(s)).toBe(0x098eff6958c5e91an);
  });
});

describe('hashBuckets', () => {
  it('equals TensorFlow string_to_hash_bucket_fast', () => {
    expect(Array.from(hashStringsToBuckets(['a', 'b', 'c', 'd'], 10))).toEqual([9, 2, 2, 5]);
    expect(Array.from(hashStringsToBuckets(['a', 'b', 'c'], 1))).toEqual([0, 0, 0]);
  });

  it('reads ranges straight out of a buffer and writes into a given array', () => {
    const bytes = Buffer.from('Hello\tWorld\t\n');
    const out = new Int32Array(4).fill(-1);
    const r = hashBuckets(bytes, Int32Array.of(0, 6, 12, 6), Int32Array.of(5, 11, 12, 11), 1000, out);
    expect(r).toBe(out);
    expect(out[0]).toBe(Number(15404698994557526151n % 1000n));
    expect(out[1]).toBe(Number(18308117990299812472n % 1000n));
    expect(out[2]).toBe(Number(0x9ae16a3b2f90404fn % 1000n));
    expect(out[3]).toBe(out[1]);
  });

  it('agrees with fingerprint64Batch mod n', () => {
    const strs = Array.from({ length: 500 }, (_, i) => `id_${i * 7919}`.repeat(1 + (i % 13)));
    const p = packStrings(strs);
    const fp = fingerprint64Batch(p.bytes, p.starts, p.ends);
    const b = hashBuckets(p.bytes, p.starts, p.ends, 1_000_003);
    for (let i = 0; i < strs.length; i++) expect(b[i]).toBe(Number(fp[i] % 1_000_003n));
  });

  it('handles an empty batch', () => {
    expect(hashStringsToBuckets([], 5).length).toBe(0);
  });
});

describe('argument errors', () => {
  const bytes = Buffer.from('abc');
  it('names the argument, the expectation and the value', () => {
    expect(() => hashBuckets(bytes, Int32Array.of(0), Int32Array.of(1), 0)).toThrow(
      'Expected an integer in [1, 2147483647] for numBuckets but received 0 of type number',
    );
    expect(() => hashBuckets(bytes, Int32Array.of(0), Int32Array.of(1), 2 ** 31)).toThrow(
      'Expected an integer in [1, 2147483647] for numBuckets but received 2147483648 of type number',
    );
    expect(() => hashBuckets(bytes, Int32Array.of(0), Int32Array.of(1), 1.5)).toThrow(
      'for numBuckets but received 1.5 of type number',
    );
    expect(() => hashBuckets([1, 2] as unknown as Uint8Array, Int32Array.of(0), Int32Array.of(1), 3)).toThrow(
      'Expected a Uint8Array (or Buffer) for bytes but received array(2) of type object',
    );
    expect(() => hashBuckets(bytes, new Float32Array(1) as unknown as Int32Array, Int32Array.of(1), 3)).toThrow(
      'Expected an Int32Array for starts but received Float32Array(1) of type Float32Array',
    );
    expect(() => hashBuckets(bytes, Int32Array.of(0, 1), Int32Array.of(1), 3)).toThrow(
      'Expected an Int32Array of length 2 (as starts) for ends but received Int32Array(1) of type Int32Array',
    );
    expect(() => hashBuckets(bytes, Int32Array.of(0, 1), Int32Array.of(1, 2), 3, new Int32Array(1))).toThrow(
      'Expected an Int32Array of length >= 2 for out but received Int32Array(1) of type Int32Array',
    );
    expect(() =>
      fingerprint64Batch(bytes, Int32Array.of(0), Int32Array.of(1), new BigInt64Array(1) as unknown as BigUint64Array),
    ).toThrow('Expected a BigUint64Array of length >= 1 for out but received BigInt64Array(1) of type BigInt64Array');
    expect(() => packStrings(['a', 3 as unknown as string])).toThrow(
      'Expected a string for strings[1] but received 3 of type number',
    );
    expect(() => checkNumBuckets(-1, 'hash_bucket_size')).toThrow('for hash_bucket_size but received -1');
  });

  it('reports a range outside the buffer from the native check, with the caller stack', () => {
    let err: Error & { code?: string } = new Error();
    try {
      hashBuckets(bytes, Int32Array.of(0, 2), Int32Array.of(1, 4), 10);
    } catch (e) {
      err = e as Error;
    }
    expect(err.message).toBe(
      'hash: string 1 has range [2, 4) outside the 3-byte buffer (expected 0 <= start <= end <= 3)',
    );
    expect(err.code).toBe('ERR_TSREC_OUT_OF_RANGE');
    expect(err.stack).toContain('hash.test.ts');
  });
});
