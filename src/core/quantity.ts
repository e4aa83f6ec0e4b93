// Kubernetes resource quantities <-> plain numbers (CPU in cores, memory in bytes).
//
// Rounding rules, stated once:
// - parse is exact up to double precision; no rounding.
// - formatCpu rounds *up* to whole millicores (the API server cannot store less than 1m, and rounding a
//   request down could starve a container) and prints the canonical decimal form ("250m", "2", "1k").
// - formatMemory rounds *up* to whole bytes, then picks the largest binary suffix (Ki … Pi) that divides
//   the value exactly, so "512Mi" stays "512Mi" and 363855872 prints as "347Mi"; other amounts print in
//   the canonical decimal form (1e8 bytes -> "100M").
// Both print exactly what the API server stores for that input (resource.Quantity.CanonicalizeBytes), so a
// value written is read back unchanged. Amounts beyond 2^53 base units cannot be written exactly: refused.

export class QuantityError extends Error {
  override readonly name = 'QuantityError';
}

const binarySuffixes: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

// Fractional suffixes are divisors: 87 / 1000 is exactly 0.087, while 87 * 1e-3 is 0.08700000000000001.
const fractionalSuffixes: Record<string, number> = { n: 1e9, u: 1e6, m: 1e3 };

const decimalSuffixes: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

// The grammar of resource.Quantity: a signed decimal number, then a binary suffix, a decimal suffix or
// a decimal exponent (e/E followed by a signed integer).
const quantityPattern = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE]?)|[eE]([+-]?\d+))$/;

/** Parses a Kubernetes quantity ("100m", "1Gi", "1e3", "0.5", 2) into its value in base units. */
export function parseQuantity(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new QuantityError(`quantity ${input} is not a finite number`);
    return input;
  }
  const text = input.trim();
  const match = quantityPattern.exec(text);
  if (!match) {
    throw new QuantityError(
      `"${truncate(input)}" is not a Kubernetes quantity (expected forms like 250m, 0.5, 2, 512Mi, 1Gi, 1e3)`,
    );
  }
  const [, digits, binary, decimal, exponent] = match;
  const base = Number(digits);
  let value: number;
  if (binary !== undefined) value = base * (binarySuffixes[binary] ?? 1);
  else if (exponent !== undefined) value = base * 10 ** Number(exponent);
  else if (decimal !== undefined && decimal in fractionalSuffixes) value = base / (fractionalSuffixes[decimal] ?? 1);
  else value = base * (decimalSuffixes[decimal ?? ''] ?? 1);
  if (!Number.isFinite(value)) throw new QuantityError(`quantity "${truncate(input)}" is too large`);
  return value;
}

/** CPU quantity -> cores. */
export function parseCpu(input: string | number): number {
  return parseQuantity(input);
}

/** Memory quantity -> bytes. */
export function parseMemory(input: string | number): number {
  return parseQuantity(input);
}

/** Cores -> the canonical form the API server stores ("250m", "2", "1k"). Rounds up to 1m. */
export function formatCpu(cores: number): string {
  assertNonNegativeFinite(cores, 'CPU');
  const millicores = Math.ceil(roundAwayFloatNoise(cores * 1000));
  assertExact(millicores, 'CPU', `${cores} cores`);
  return canonicalDecimal(BigInt(millicores), -3);
}

/** Bytes -> the largest exact binary unit ("512Mi", "1Gi"), else canonical decimal ("1k", "100M"). Rounds up to whole bytes. */
export function formatMemory(bytes: number): string {
  assertNonNegativeFinite(bytes, 'memory');
  const whole = Math.ceil(roundAwayFloatNoise(bytes));
  assertExact(whole, 'memory', `${bytes} bytes`);
  if (whole === 0) return '0';
  for (const suffix of ['Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const unit = binarySuffixes[suffix] ?? 1;
    if (whole % unit === 0) return `${whole / unit}${suffix}`;
  }
  return canonicalDecimal(BigInt(whole), 0);
}

const decimalSuffixByExponent = new Map<number, string>([[-9, 'n'], [-6, 'u'], [-3, 'm'], [0, ''], [3, 'k'], [6, 'M'], [9, 'G'], [12, 'T'], [15, 'P'], [18, 'E']]);

/**
 * mantissa × 10^exponent as the API server prints a DecimalSI quantity: every factor of ten moved into the
 * exponent, which is then lowered to a multiple of three with its SI suffix (1000 -> "1k", 1200m -> "1200m").
 */
function canonicalDecimal(mantissa: bigint, exponent: number): string {
  if (mantissa === 0n) return '0';
  let digits = mantissa;
  let power = exponent;
  while (digits % 10n === 0n) {
    digits /= 10n;
    power += 1;
  }
  while (((power % 3) + 3) % 3 !== 0) {
    digits *= 10n;
    power -= 1;
  }
  const suffix = decimalSuffixByExponent.get(power);
  if (suffix === undefined) throw new QuantityError(`${digits}e${power} has no SI suffix`);
  return `${digits}${suffix}`;
}

/** A short human form for tables: "250m", "1.5 cores"; "347Mi", "1.2Gi". Not for manifests. */
export function describeCpu(cores: number | null): string {
  if (cores === null) return 'unset';
  return cores < 1 ? `${Math.ceil(roundAwayFloatNoise(cores * 1000))}m` : `${trimNumber(cores)}`;
}

export function describeMemory(bytes: number | null): string {
  if (bytes === null) return 'unset';
  const gi = binarySuffixes.Gi ?? 1;
  const mi = binarySuffixes.Mi ?? 1;
  if (bytes >= gi) return `${trimNumber(bytes / gi)}Gi`;
  if (bytes >= mi) return `${trimNumber(bytes / mi)}Mi`;
  return `${Math.ceil(bytes)}`;
}

/** Equality for quantities after parsing ("1000m" equals "1"), tolerant of float noise. */
export function sameQuantity(a: string | number, b: string | number): boolean {
  const left = parseQuantity(a);
  const right = parseQuantity(b);
  return Math.abs(left - right) <= Math.max(Math.abs(left), Math.abs(right)) * 1e-12;
}

function trimNumber(value: number): string {
  return String(Math.round(value * 100) / 100);
}

// 0.1 * 3 * 1000 is 300.00000000000006: without this, ceil would give 301m.
function roundAwayFloatNoise(value: number): number {
  const nearest = Math.round(value);
  return Math.abs(value - nearest) < 1e-9 ? nearest : value;
}

function assertNonNegativeFinite(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new QuantityError(`${what} amount ${value} cannot be written as a quantity (must be a finite number ≥ 0)`);
  }
}

// Beyond 2^53 a double no longer holds every integer: what we printed would not be what was recommended.
function assertExact(units: number, what: string, input: string): void {
  if (!Number.isSafeInteger(units)) throw new QuantityError(`${what} amount ${input} is too large to write exactly as a quantity`);
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
