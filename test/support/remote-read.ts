// Prometheus' remote read answers written by hand for tests: XOR chunks bit by bit per tsdb/chunkenc/xor.go, and
// streamed frames (a varint size, a CRC32C, a ChunkedReadResponse) around them. The reader's own decoding is checked
// against what a real Prometheus sends (a fixture, and evidence-prometheus.test.ts); these are for the answers a real
// one does not send (NaN, staleness markers, corruption).
import { crc32c } from '../../src/core/evidence/remoteRead';

/** Bits, most significant first, as Prometheus' bstream writes them (the chunk format of tsdb/chunkenc/xor.go). */
export class Bits {
  private readonly bits: number[] = [];
  put(value: bigint, count: number): this {
    for (let index = count - 1; index >= 0; index--) this.bits.push(Number((value >> BigInt(index)) & 1n));
    return this;
  }
  byte(value: number): this {
    return this.put(BigInt(value), 8);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.bits.length / 8));
    this.bits.forEach((bit, index) => {
      out[index >> 3] = (out[index >> 3] as number) | (bit << (7 - (index & 7)));
    });
    return out;
  }
}

export const floatBits = (value: number) => new BigUint64Array(new Float64Array([value]).buffer)[0] as bigint;
export const staleNaN = 0x7ff0000000000002n;

/** A two-sample chunk: t0 (ms) with bits v0, then t0 + delta with bits v1, written by hand per xor.go. */
export function twoSampleChunk(t0: number, v0: bigint, delta: number, v1: bigint): Uint8Array {
  const bits = new Bits().byte(0).byte(2);
  let zigzag = BigInt(t0) * 2n;
  while (zigzag >= 0x80n) {
    bits.byte(Number((zigzag & 0x7fn) | 0x80n));
    zigzag >>= 7n;
  }
  bits.byte(Number(zigzag));
  bits.put(v0, 64);
  let d = delta;
  while (d >= 0x80) {
    bits.byte((d & 0x7f) | 0x80);
    d >>>= 7;
  }
  bits.byte(d);
  const xor = v0 ^ v1;
  if (xor === 0n) bits.put(0n, 1);
  else {
    const leading = 64 - xor.toString(2).length;
    const trailing = xor.toString(2).length - xor.toString(2).replace(/0+$/, '').length;
    const significant = 64 - leading - trailing;
    bits.put(0b11n, 2).put(BigInt(leading), 5).put(BigInt(significant === 64 ? 0 : significant), 6).put(xor >> BigInt(trailing), significant);
  }
  return bits.bytes();
}

/** A streamed answer of one series with these chunks (protobuf written here, checksummed). */
export function frame(labels: Record<string, string>, chunks: Uint8Array[], corrupt = false): Buffer {
  const varint = (value: number) => {
    const out: number[] = [];
    while (value >= 0x80) {
      out.push((value & 0x7f) | 0x80);
      value >>>= 7;
    }
    out.push(value);
    return out;
  };
  const field = (no: number, bytes: number[]) => [...varint((no << 3) | 2), ...varint(bytes.length), ...bytes];
  const text = (value: string) => [...Buffer.from(value)];
  const series = [
    ...Object.entries(labels).flatMap(([name, value]) => field(1, [...field(1, text(name)), ...field(2, text(value))])),
    ...chunks.flatMap((data) => field(2, [...varint(3 << 3), ...varint(1), ...field(4, [...data])])),
  ];
  const message = Buffer.from(field(1, series));
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE((crc32c(message) ^ (corrupt ? 1 : 0)) >>> 0);
  return Buffer.concat([Buffer.from(varint(message.length)), checksum, message]);
}

