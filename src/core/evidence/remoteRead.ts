// Prometheus' remote read protocol (prompb/remote.proto, /api/v1/read) with streamed XOR chunks: the request (a
// protobuf ReadRequest, snappy-framed as one literal) and the answer (frames of a varint size, a CRC32C and a
// ChunkedReadResponse). Only what the evidence reader asks is written, and the answer is read as input from the
// network: every length is checked against its frame, every frame against its checksum; anything else is refused
// (RemoteReadError) and the reader falls back to PromQL.

/** An answer that is not the streamed remote read the reader asked for. */
export class RemoteReadError extends Error {}

export type MatcherType = 'equal' | 'notEqual' | 'regexp' | 'notRegexp';
export interface LabelMatcher {
  type: MatcherType;
  name: string;
  value: string;
}

export interface RemoteChunk {
  /** prompb Chunk.Encoding: 1 is XOR (floats); anything else is not read here. */
  encoding: number;
  data: Uint8Array;
}

export interface RemoteSeries {
  labels: Record<string, string>;
  chunks: RemoteChunk[];
}

/** The content type of a streamed answer (Prometheus' storage/remote: ContentTypeStreamedProtobuf). */
export const streamedContentType = 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse';
/** Prometheus sends frames of at most 1 MiB by default (--storage.remote.read-max-bytes-in-frame); a frame above this is refused. */
const maxFrameBytes = 64 * 1024 * 1024;
/** prompb ReadRequest.ResponseType STREAMED_XOR_CHUNKS. */
const streamedXorChunks = 1;
const matcherTypes: Record<MatcherType, number> = { equal: 0, notEqual: 1, regexp: 2, notRegexp: 3 };

// ── writing ──────────────────────────────────────────────────────────────────────────────────────────────────────

class ProtobufWriter {
  readonly bytes: number[] = [];
  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a protobuf varint: ${value}`);
    while (value >= 0x80) {
      this.bytes.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    this.bytes.push(value);
  }
  integerField(field: number, value: number): void {
    this.varint(field << 3);
    this.varint(value);
  }
  bytesField(field: number, value: Uint8Array | readonly number[]): void {
    this.varint((field << 3) | 2);
    this.varint(value.length);
    for (const byte of value) this.bytes.push(byte);
  }
}

/** One query over [startMs, endMs] (both inclusive, as Prometheus selects them), asking for streamed XOR chunks. */
export function readRequestBody(matchers: readonly LabelMatcher[], startMs: number, endMs: number): Uint8Array {
  const encoder = new TextEncoder();
  const query = new ProtobufWriter();
  query.integerField(1, startMs);
  query.integerField(2, endMs);
  for (const matcher of matchers) {
    const written = new ProtobufWriter();
    written.integerField(1, matcherTypes[matcher.type]);
    written.bytesField(2, encoder.encode(matcher.name));
    written.bytesField(3, encoder.encode(matcher.value));
    query.bytesField(3, written.bytes);
  }
  const request = new ProtobufWriter();
  request.bytesField(1, query.bytes);
  request.integerField(2, streamedXorChunks);
  return snappyLiteral(request.bytes);
}

/** A snappy block holding the bytes as literals (valid snappy, uncompressed: the request is a few hundred bytes). */
function snappyLiteral(bytes: readonly number[]): Uint8Array {
  const out = new ProtobufWriter();
  out.varint(bytes.length);
  for (let start = 0; start < bytes.length; start += 65_536) {
    const length = Math.min(65_536, bytes.length - start);
    // Tag 61: a literal whose length − 1 follows in two little-endian bytes.
    out.bytes.push(61 << 2, (length - 1) & 0xff, (length - 1) >> 8);
    for (let index = start; index < start + length; index++) out.bytes.push(bytes[index] as number);
  }
  return Uint8Array.from(out.bytes);
}

// ── reading ──────────────────────────────────────────────────────────────────────────────────────────────────────

class ProtobufReader {
  constructor(
    private readonly data: Uint8Array,
    public position: number,
    private readonly end: number,
  ) {}
  get done(): boolean {
    return this.position >= this.end;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let byte = 0; byte < 10; byte++) {
      if (this.position >= this.end) throw new RemoteReadError('a remote read frame ends inside a number');
      const next = this.data[this.position++] as number;
      result += (next & 0x7f) * scale;
      if (next < 0x80) {
        if (!Number.isSafeInteger(result)) throw new RemoteReadError('a remote read number beyond 2^53');
        return result;
      }
      scale *= 128;
    }
    throw new RemoteReadError('a remote read number longer than 10 bytes');
  }
  /** The next field's number and its bytes (length-delimited) or value (varint); fixed-width fields are skipped. */
  field(): { field: number; bytes?: ProtobufReader; value?: number } {
    const key = this.varint();
    const field = Math.floor(key / 8);
    switch (key % 8) {
      case 0:
        return { field, value: this.varint() };
      case 1:
        return this.skip(field, 8);
      case 5:
        return this.skip(field, 4);
      case 2: {
        const length = this.varint();
        if (length > this.end - this.position) throw new RemoteReadError('a remote read field longer than its frame');
        const bytes = new ProtobufReader(this.data, this.position, this.position + length);
        this.position += length;
        return { field, bytes };
      }
      default:
        throw new RemoteReadError(`a remote read field of wire type ${key % 8}`);
    }
  }
  private skip(field: number, size: number): { field: number } {
    if (size > this.end - this.position) throw new RemoteReadError('a remote read field longer than its frame');
    this.position += size;
    return { field };
  }
  bytes(): Uint8Array {
    return this.data.subarray(this.position, this.end);
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function text(reader: ProtobufReader): string {
  try {
    return decoder.decode(reader.bytes());
  } catch {
    throw new RemoteReadError('a remote read label that is not UTF-8');
  }
}

function parseSeries(reader: ProtobufReader): RemoteSeries {
  const series: RemoteSeries = { labels: {}, chunks: [] };
  while (!reader.done) {
    const { field, bytes } = reader.field();
    if (!bytes) continue;
    if (field === 1) {
      let name = '';
      let value = '';
      while (!bytes.done) {
        const label = bytes.field();
        if (label.bytes && label.field === 1) name = text(label.bytes);
        else if (label.bytes && label.field === 2) value = text(label.bytes);
      }
      series.labels[name] = value;
    } else if (field === 2) {
      const chunk: RemoteChunk = { encoding: 0, data: new Uint8Array(0) };
      while (!bytes.done) {
        const part = bytes.field();
        if (part.field === 3 && part.value !== undefined) chunk.encoding = part.value;
        else if (part.field === 4 && part.bytes) chunk.data = part.bytes.bytes();
      }
      series.chunks.push(chunk);
    }
  }
  return series;
}

/**
 * The series of a streamed answer, in order; a series split over frames (Prometheus splits one past its frame size)
 * is joined back. `maxSeries` bounds the series kept.
 */
export function parseStreamedResponse(body: Uint8Array, maxSeries: number): RemoteSeries[] {
  const series: RemoteSeries[] = [];
  let previousKey: string | null = null;
  let position = 0;
  while (position < body.length) {
    const header = new ProtobufReader(body, position, body.length);
    const size = header.varint();
    if (size > maxFrameBytes) throw new RemoteReadError(`a remote read frame of ${size} bytes`);
    const start = header.position + 4;
    if (start + size > body.length) throw new RemoteReadError('a remote read answer cut short inside a frame');
    const expected = (((body[header.position] as number) << 24) | ((body[header.position + 1] as number) << 16) | ((body[header.position + 2] as number) << 8) | (body[header.position + 3] as number)) >>> 0;
    if (crc32c(body, start, start + size) !== expected) throw new RemoteReadError('a remote read frame whose checksum does not match');
    const frame = new ProtobufReader(body, start, start + size);
    while (!frame.done) {
      const { field, bytes } = frame.field();
      if (field !== 1 || !bytes) continue;
      const next = parseSeries(bytes);
      const key = JSON.stringify(Object.entries(next.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      const last = series.at(-1);
      if (last && key === previousKey) last.chunks.push(...next.chunks);
      else {
        if (series.length >= maxSeries) throw new RemoteReadError(`more than ${maxSeries} series in one remote read`);
        series.push(next);
      }
      previousKey = key;
    }
    position = start + size;
  }
  return series;
}

// CRC-32C (Castagnoli), the checksum of each frame: eight tables, eight bytes a step ("slicing by 8"), as a frame of a
// 14-day namespace is megabytes.
const crcTables = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const first = tables[0] as Uint32Array;
  for (let index = 0; index < 256; index++) {
    let crc = index;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    first[index] = crc >>> 0;
  }
  for (let index = 0; index < 256; index++) {
    for (let table = 1; table < 8; table++) {
      const previous = (tables[table - 1] as Uint32Array)[index] as number;
      (tables[table] as Uint32Array)[index] = (first[previous & 0xff] as number) ^ (previous >>> 8);
    }
  }
  return tables;
})();

export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = crcTables as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let crc = 0xffffffff;
  let index = start;
  for (; index + 8 <= end; index += 8) {
    const low = (crc ^ ((data[index] as number) | ((data[index + 1] as number) << 8) | ((data[index + 2] as number) << 16) | ((data[index + 3] as number) << 24))) >>> 0;
    const high = ((data[index + 4] as number) | ((data[index + 5] as number) << 8) | ((data[index + 6] as number) << 16) | ((data[index + 7] as number) << 24)) >>> 0;
    crc =
      (t7[low & 0xff] as number) ^
      (t6[(low >>> 8) & 0xff] as number) ^
      (t5[(low >>> 16) & 0xff] as number) ^
      (t4[low >>> 24] as number) ^
      (t3[high & 0xff] as number) ^
      (t2[(high >>> 8) & 0xff] as number) ^
      (t1[(high >>> 16) & 0xff] as number) ^
      (t0[high >>> 24] as number);
  }
  for (; index < end; index++) crc = (t0[(crc ^ (data[index] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
