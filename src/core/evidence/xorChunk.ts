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

/**
 * How many samples a chunk's header says it holds (its first two bytes, big-endian), refused where its bytes cannot
 * hold them (after the first sample, each takes at least two bits): a claim is checked before arrays are sized by it.
 */
export function chunkSampleCount(data: Uint8Array): number {
  if (data.length < 2) throw new ChunkError('an XOR chunk shorter than its header');
  const count = ((data[0] as number) << 8) | (data[1] as number);
  if (count > 2 + ((data.length - 2) * 8) / 2) throw new ChunkError('an XOR chunk that claims more samples than its bytes can hold');
  return count;
}

/** The chunk's bytes followed by zeros, so that a read of up to 64 bits past its end stays in the array (the caller checks its bits ran out). */
let padded = new Uint8Array(1024);
function withPadding(data: Uint8Array): Uint8Array {
  if (padded.length < data.length + 16) padded = new Uint8Array(2 * data.length + 16);
  padded.set(data);
  padded.fill(0, data.length, data.length + 16);
  return padded;
}

/** `n` ≤ 32 bits at bit `position` of a padded chunk, most significant first, unsigned. */
function bitsAt(data: Uint8Array, position: number, n: number): number {
  if (n === 0) return 0;
  const index = position >> 3;
  const offset = position & 7;
  const word = (((data[index] as number) << 24) | ((data[index + 1] as number) << 16) | ((data[index + 2] as number) << 8) | (data[index + 3] as number)) >>> 0;
  if (offset + n <= 32) return ((word << offset) >>> 0) >>> (32 - n);
  const extra = offset + n - 32;
  const head = ((word << offset) >>> 0) >>> offset;
  return head * (1 << extra) + (((data[index + 4] as number) >>> (8 - extra)) & ((1 << extra) - 1));
}

/** Where a series' decoded samples go: times (milliseconds) and values up to `length`, and the last time read (a staleness marker's too). */
export interface DecodedSamples {
  times: Float64Array;
  values: Float64Array;
  length: number;
  lastTime: number;
  /**
   * Staleness markers kept as samples whose value is NaN (an instant selector stops at one: the series is gone), or
   * dropped (a range selector skips them). Either way no other NaN is kept as NaN: see `nonFinite`.
   */
  keepStale: boolean;
  /** Set when a sample other than a staleness marker is NaN or infinite (PromQL treats those apart; the reader asks it instead). */
  nonFinite: boolean;
}

/**
 * Appends the chunk's samples to `out`, staleness markers kept or dropped as `out.keepStale` says. Its first sample
 * must come after `out.lastTime` (chunks of one series in order, not overlapping). Throws ChunkError for a malformed
 * chunk, or one with more samples than `out` has room for.
 */
export function decodeXorChunk(chunk: Uint8Array, out: DecodedSamples): void {
  const { times, values, keepStale } = out;
  let at = out.length;
  const count = chunkSampleCount(chunk);
  if (at + count > times.length || at + count > values.length) throw new ChunkError('an XOR chunk holds more samples than there is room for');
  if (count === 0) return;
  const totalBits = chunk.length * 8;
  const data = withPadding(chunk);
  let position = 16;
  let previous = out.lastTime;
  let nonFinite = out.nonFinite;
  let time = 0;
  let delta = 0;
  let high = 0;
  let low = 0;
  let leading = 0;
  let trailing = 0;
  // One loop, one place that stores a sample (no closure per chunk: a 14-day namespace has tens of thousands of chunks).
  for (let index = 0; index < count; index++) {
    if (index === 0) {
      const zigzag = uvarintAt(data, position);
      position = varintEnd;
      time = zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
      high = bitsAt(data, position, 32);
      low = bitsAt(data, position + 32, 32);
      position += 64;
    } else {
      if (index === 1) {
        delta = uvarintAt(data, position);
        position = varintEnd;
      } else {
        // The delta of deltas: 0 | 10 + 14 bits | 110 + 17 | 1110 + 20 | 1111 + 64.
        const prefix = bitsAt(data, position, 4);
        if ((prefix & 0b1000) === 0) position += 1;
        else {
          let size: number;
          if ((prefix & 0b0100) === 0) {
            size = 14;
            position += 2;
          } else if ((prefix & 0b0010) === 0) {
            size = 17;
            position += 3;
          } else if ((prefix & 0b0001) === 0) {
            size = 20;
            position += 4;
          } else {
            size = 64;
            position += 4;
          }
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
    }
    if (!(time > previous) || position > totalBits) throw new ChunkError(position > totalBits ? 'an XOR chunk shorter than its samples' : 'an XOR chunk whose times do not rise');
    previous = time;
    let value: number;
    if (high === staleHigh && low === staleLow) {
      if (!keepStale) continue;
      value = Number.NaN;
    } else {
      words[lowWord] = low;
      words[highWord] = high;
      value = float[0] as number;
      // An exponent of all ones: NaN or ±Inf.
      if ((high & 0x7ff00000) === 0x7ff00000) nonFinite = true;
    }
    times[at] = time;
    values[at] = value;
    at += 1;
  }
  out.length = at;
  out.lastTime = previous;
  out.nonFinite = nonFinite;
}

/** Where the last uvarintAt ended (a bit position): module state rather than an object per call. */
let varintEnd = 0;

/** An unsigned varint written byte by byte into the bit stream at `position` (xor.go writes the first times so). */
function uvarintAt(data: Uint8Array, position: number): number {
  let result = 0;
  let scale = 1;
  for (let byte = 0; byte < 10; byte++) {
    const next = bitsAt(data, position, 8);
    position += 8;
    result += (next & 0x7f) * scale;
    if (next < 0x80) {
      varintEnd = position;
      return result;
    }
    scale *= 128;
  }
  throw new ChunkError('an XOR chunk with a varint longer than 10 bytes');
}
