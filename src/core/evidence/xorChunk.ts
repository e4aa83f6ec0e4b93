// Prometheus' XOR chunk (tsdb/chunkenc/xor.go, Gorilla's float encoding), decoded: the samples of one chunk of a series
// as Prometheus' remote read streams them. A chunk is input from the network: its sample count is read from its own
// header (at most 65,535), the output arrays are the caller's (sized from those headers), and a chunk whose bits run
// out before its count, or whose times do not rise, is refused (ChunkError), never read past its end.

/** A chunk that is not a well-formed XOR chunk. */
export class ChunkError extends Error {}

/** Prometheus' staleness marker: a NaN with these bits (model/value.StaleNaN), dropped from every range it is in. */
const staleHigh = 0x7ff00000;
const staleLow = 0x00000002;

const float = new Float64Array(1);
const words = new Uint32Array(float.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const lowWord = littleEndian ? 0 : 1;
const highWord = littleEndian ? 1 : 0;

/** How many samples a chunk's header says it holds (its first two bytes, big-endian). */
export function chunkSampleCount(data: Uint8Array): number {
  if (data.length < 2) throw new ChunkError('an XOR chunk shorter than its header');
  return ((data[0] as number) << 8) | (data[1] as number);
}

/** `n` ≤ 32 bits at bit `position`, most significant first, unsigned; bytes past the end read as 0 (the caller checks). */
function bitsAt(data: Uint8Array, position: number, n: number): number {
  if (n === 0) return 0;
  const index = position >> 3;
  const offset = position & 7;
  const word = (((data[index] ?? 0) << 24) | ((data[index + 1] ?? 0) << 16) | ((data[index + 2] ?? 0) << 8) | (data[index + 3] ?? 0)) >>> 0;
  if (offset + n <= 32) return ((word << offset) >>> 0) >>> (32 - n);
  const extra = offset + n - 32;
  const head = ((word << offset) >>> 0) >>> offset;
  return head * (1 << extra) + (((data[index + 4] ?? 0) >>> (8 - extra)) & ((1 << extra) - 1));
}

/** Where a series' decoded samples go: times (milliseconds) and values up to `length`, and the last time read (a staleness marker's too). */
export interface DecodedSamples {
  times: Float64Array;
  values: Float64Array;
  length: number;
  lastTime: number;
}

/**
 * Appends the chunk's samples to `out`, skipping staleness markers as PromQL's range selection does. Its first sample
 * must come after `out.lastTime` (chunks of one series in order, not overlapping). Throws ChunkError for a malformed
 * chunk, or one with more samples than `out` has room for.
 */
export function decodeXorChunk(data: Uint8Array, out: DecodedSamples): void {
  const { times, values } = out;
  let at = out.length;
  const count = chunkSampleCount(data);
  if (at + count > times.length || at + count > values.length) throw new ChunkError('an XOR chunk holds more samples than there is room for');
  const totalBits = data.length * 8;
  let position = 16;
  const uvarint = (): number => {
    let result = 0;
    let scale = 1;
    for (let byte = 0; byte < 10; byte++) {
      const next = bitsAt(data, position, 8);
      position += 8;
      result += (next & 0x7f) * scale;
      if (next < 0x80) return result;
      scale *= 128;
    }
    throw new ChunkError('an XOR chunk with a varint longer than 10 bytes');
  };
  if (count === 0) return;
  let previous = out.lastTime;
  let high = 0;
  let low = 0;
  const push = (time: number) => {
    if (!(time > previous) || position > totalBits) throw new ChunkError(position > totalBits ? 'an XOR chunk shorter than its samples' : 'an XOR chunk whose times do not rise');
    previous = time;
    out.lastTime = time;
    if (high === staleHigh && low === staleLow) return;
    words[lowWord] = low;
    words[highWord] = high;
    times[at] = time;
    values[at] = float[0] as number;
    at += 1;
    out.length = at;
  };
  const zigzag = uvarint();
  let time = zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  high = bitsAt(data, position, 32);
  low = bitsAt(data, position + 32, 32);
  position += 64;
  push(time);
  if (count === 1) return;
  let delta = uvarint();
  let leading = 0;
  let trailing = 0;
  for (let index = 1; index < count; index++) {
    if (index > 1) {
      // The delta of deltas: 0 | 10 + 14 bits | 110 + 17 | 1110 + 20 | 1111 + 64.
      const prefix = bitsAt(data, position, 4);
      if ((prefix & 0b1000) === 0) position += 1;
      else {
        const ones = (prefix & 0b0100) === 0 ? 1 : (prefix & 0b0010) === 0 ? 2 : (prefix & 0b0001) === 0 ? 3 : 4;
        const size = [14, 17, 20, 64][ones - 1] as number;
        position += Math.min(ones + 1, 4);
        let deltaOfDelta: number;
        if (size === 64) {
          deltaOfDelta = (bitsAt(data, position, 32) | 0) * 4294967296 + bitsAt(data, position + 32, 32);
          position += 64;
        } else {
          deltaOfDelta = bitsAt(data, position, size);
          position += size;
          // Negative numbers come back as high unsigned ones (Prometheus' docs/bstream.md).
          if (deltaOfDelta > 2 ** (size - 1)) deltaOfDelta -= 2 ** size;
        }
        delta += deltaOfDelta;
      }
    }
    time += delta;
    // The value: 0 (unchanged) | 10 + the bits inside the previous window | 11 + 5 bits leading, 6 bits length, the bits.
    const control = bitsAt(data, position, 2);
    if ((control & 0b10) === 0) position += 1;
    else {
      position += 2;
      if ((control & 0b01) !== 0) {
        const header = bitsAt(data, position, 11);
        position += 11;
        leading = header >>> 6;
        // 0 significant bits means 64 (xor.go: they overflow the 6 bits).
        const significant = (header & 0x3f) || 64;
        trailing = 64 - leading - significant;
        if (trailing < 0) throw new ChunkError('an XOR chunk with more than 64 bits in a value');
      } else if (index === 1) throw new ChunkError('an XOR chunk that reuses a window it never set');
      const significant = 64 - leading - trailing;
      let xorHigh = 0;
      let xorLow: number;
      if (significant > 32) {
        xorHigh = bitsAt(data, position, significant - 32);
        xorLow = bitsAt(data, position + significant - 32, 32);
      } else xorLow = bitsAt(data, position, significant);
      position += significant;
      // Shift the significant bits back into place: left by `trailing` across the two words.
      if (trailing >= 32) {
        high ^= (xorLow << (trailing - 32)) >>> 0;
      } else if (trailing === 0) {
        high ^= xorHigh;
        low ^= xorLow;
      } else {
        high ^= ((xorHigh << trailing) | (xorLow >>> (32 - trailing))) >>> 0;
        low ^= (xorLow << trailing) >>> 0;
      }
      high >>>= 0;
      low >>>= 0;
    }
    push(time);
  }
}
