// resource.Quantity as the API server stores it: parsed exactly (BigInt nano-units) and printed in the
// canonical form, so "0.5" is stored as "500m" and "1024Mi" as "1Gi", like a real cluster does.

export const quantityFormatMessage =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const binaryExponent: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const decimalExponent: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const decimalSuffixByExponent: Record<number, string> = { [-9]: 'n', [-6]: 'u', [-3]: 'm', 0: '', 3: 'k', 6: 'M', 9: 'G', 12: 'T', 15: 'P', 18: 'E' };
const binarySuffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

export interface Quantity {
  nano: bigint; // value * 1e9, rounded up like the API server rounds to its smallest scale
  format: 'BinarySI' | 'DecimalSI' | 'DecimalExponent';
}

const pattern = /^([+-]?)(\d+\.?\d*|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE]?)|[eE]([+-]?\d+))$/;
const NANO = 10n ** 9n;

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

export class QuantityParseError extends Error {}

export function parseQuantity(input: unknown): Quantity {
  let text: string;
  if (typeof input === 'number' && Number.isFinite(input)) text = String(input);
  else if (typeof input === 'string') text = input.trim();
  else throw new QuantityParseError(quantityFormatMessage);
  // JSON numbers like 1e-7 print in exponent form; that is still a valid quantity.
  const match = pattern.exec(text);
  if (!match) {
    if (/^[+-]?[0-9.]+/.test(text)) throw new QuantityParseError("unable to parse quantity's suffix");
    throw new QuantityParseError(quantityFormatMessage);
  }
  const [, sign, digits = '0', binary, decimal, exponent] = match;
  const [whole = '', fraction = ''] = digits.split('.');
  const mantissa = BigInt((whole || '0') + fraction);
  const fractionDigits = fraction.length;
  let nano: bigint;
  let format: Quantity['format'];
  if (binary !== undefined) {
    format = 'BinarySI';
    nano = ceilDiv(mantissa * 1024n ** BigInt(binaryExponent[binary] ?? 0) * NANO, 10n ** BigInt(fractionDigits));
  } else {
    const power = exponent !== undefined ? Number(exponent) : (decimalExponent[decimal ?? ''] ?? 0);
    format = exponent !== undefined ? 'DecimalExponent' : 'DecimalSI';
    const shift = 9 + power - fractionDigits;
    nano = shift >= 0 ? mantissa * 10n ** BigInt(shift) : ceilDiv(mantissa, 10n ** BigInt(-shift));
  }
  return { nano: sign === '-' ? -nano : nano, format };
}

export function formatQuantity(q: Quantity): string {
  if (q.nano === 0n) return '0';
  const negative = q.nano < 0n;
  const abs = negative ? -q.nano : q.nano;
  const sign = negative ? '-' : '';
  if (q.format === 'BinarySI' && abs >= 1024n * NANO && abs % NANO === 0n) {
    let bytes = abs / NANO;
    let index = 0;
    while (index < binarySuffixes.length - 1 && bytes % 1024n === 0n) {
      bytes /= 1024n;
      index += 1;
    }
    return `${sign}${bytes}${binarySuffixes[index]}`;
  }
  let exponent = -9;
  let mantissa = abs;
  // DecimalSI stops at E (the largest suffix); an exponent has no such limit ("1e21", as resource.Quantity prints).
  while ((q.format === 'DecimalExponent' || exponent < 18) && mantissa % 1000n === 0n) {
    mantissa /= 1000n;
    exponent += 3;
  }
  if (q.format === 'DecimalExponent') return `${sign}${mantissa}${exponent === 0 ? '' : `e${exponent}`}`;
  return `${sign}${mantissa}${decimalSuffixByExponent[exponent] ?? ''}`;
}

export function canonicalQuantity(input: unknown): string {
  return formatQuantity(parseQuantity(input));
}

export function compareQuantities(a: Quantity, b: Quantity): number {
  return a.nano < b.nano ? -1 : a.nano > b.nano ? 1 : 0;
}
