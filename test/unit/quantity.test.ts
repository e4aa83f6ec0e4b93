import assert from 'node:assert/strict';
import { describeMemory, formatCpu, formatMemory, parseCpu, parseMemory, parseQuantity, QuantityError, sameQuantity } from '../../src/core/quantity';
import { canonicalQuantity } from '../support/kube-api-server/quantity';

describe('quantity', () => {
  it('parses the forms Kubernetes accepts', () => {
    assert.equal(parseCpu('100m'), 0.1);
    assert.equal(parseCpu('0.5'), 0.5);
    assert.equal(parseCpu('2'), 2);
    assert.equal(parseCpu(1.5), 1.5);
    assert.equal(parseMemory('1Gi'), 1073741824);
    assert.equal(parseMemory('512Mi'), 536870912);
    assert.equal(parseMemory('1e3'), 1000);
    assert.equal(parseMemory('1.5G'), 1.5e9);
    assert.equal(parseMemory('128974848'), 128974848);
    assert.equal(parseMemory('129M'), 129e6);
    assert.equal(parseMemory('123Ki'), 123 * 1024);
    assert.equal(parseQuantity('250u'), 0.00025);
  });

  it('rejects garbage with a message that shows the valid forms', () => {
    for (const bad of ['', 'abc', '1.2.3', '5 Mi', '1mi', '--1', 'Infinity', '1e', 'NaN', '1Gi; rm -rf /']) {
      assert.throws(() => parseQuantity(bad), (error: unknown) => error instanceof QuantityError && /not a Kubernetes quantity/.test(error.message), bad);
    }
    assert.throws(() => parseQuantity(Number.NaN), QuantityError);
    assert.throws(() => parseQuantity('1e400'), /too large/);
  });

  it('formats CPU rounding up to whole millicores', () => {
    assert.equal(formatCpu(0.087), '87m');
    assert.equal(formatCpu(0.0871), '88m');
    assert.equal(formatCpu(1), '1');
    assert.equal(formatCpu(2.5), '2500m');
    assert.equal(formatCpu(0.1 * 3), '300m', 'float noise must not round 300m up to 301m');
    assert.throws(() => formatCpu(-1), QuantityError);
  });

  it('formats memory with the largest exact binary unit, rounding up to whole bytes', () => {
    assert.equal(formatMemory(536870912), '512Mi');
    assert.equal(formatMemory(1073741824), '1Gi');
    assert.equal(formatMemory(363855872), '347Mi');
    assert.equal(formatMemory(1000), '1k');
    assert.equal(formatMemory(1536), '1536', '1.5Ki is not a whole number of Ki');
    assert.equal(formatMemory(100.2), '101');
    assert.equal(formatMemory(0), '0');
  });

  it('writes the canonical form the API server stores (1e8 bytes as 100M, 1000 cores as 1k)', () => {
    assert.equal(formatMemory(1e8), '100M');
    assert.equal(formatCpu(1000), '1k');
    assert.equal(formatCpu(1.2), '1200m');
    assert.equal(formatCpu(1500), '1500');
    assert.equal(formatMemory(2 ** 52), '4Pi');
    // The test API server canonicalises like resource.Quantity; what we write must come back unchanged.
    const cores = [0.001, 0.087, 0.25, 1, 1.2, 2.5, 10, 999.999, 1000, 1500, 12000, 3.6e6];
    const bytes = [1, 999, 1000, 1024, 1536, 1e8, 128974848, 363855872, 1.5e9, 2 ** 40, 3 * 2 ** 50, 7e15];
    for (const amount of cores) assert.equal(canonicalQuantity(formatCpu(amount)), formatCpu(amount), `${amount} cores`);
    for (const amount of bytes) assert.equal(canonicalQuantity(formatMemory(amount)), formatMemory(amount), `${amount} bytes`);
  });

  it('refuses amounts it cannot write exactly (a crafted 1e300), with a QuantityError', () => {
    for (const amount of [1e300, 2 ** 53 + 2, Number.MAX_VALUE]) {
      assert.throws(() => formatMemory(amount), (error: unknown) => error instanceof QuantityError && /too large/.test(error.message), String(amount));
      assert.throws(() => formatCpu(amount), (error: unknown) => error instanceof QuantityError && /too large/.test(error.message), String(amount));
    }
    assert.throws(() => formatCpu(Number.POSITIVE_INFINITY), QuantityError);
  });

  it('round-trips: format(parse(x)) keeps the amount', () => {
    for (const text of ['250m', '1', '512Mi', '1Gi', '347Mi']) {
      const amount = parseQuantity(text);
      const formatted = /i$/.test(text) ? formatMemory(amount) : formatCpu(amount);
      assert.ok(sameQuantity(formatted, text), `${text} -> ${formatted}`);
    }
  });

  it('compares quantities by value, not spelling', () => {
    assert.ok(sameQuantity('1000m', '1'));
    assert.ok(sameQuantity('1024Mi', '1Gi'));
    assert.ok(!sameQuantity('100m', '101m'));
  });

  it('describes amounts for people', () => {
    assert.equal(describeMemory(1.5 * 2 ** 30), '1.5Gi');
    assert.equal(describeMemory(null), 'unset');
  });
});

describe('the test API server stores quantities as resource.Quantity prints them', () => {
  it('keeps the suffix family of the input: binary stays binary, decimal and exponent stay decimal', () => {
    // Cases checked against k8s.io/apimachinery pkg/api/resource (ParseQuantity + CanonicalizeBytes).
    const cases: Array<[string, string]> = [
      ['100000000', '100M'],
      ['1000', '1k'],
      ['1e8', '100e6'],
      ['1e3', '1e3'],
      ['1e21', '1e21'],
      ['0.5', '500m'],
      ['1000m', '1'],
      ['1200m', '1200m'],
      ['1024Mi', '1Gi'],
      ['0.5Gi', '512Mi'],
      ['1.5Ki', '1536'],
      ['0.1Ki', '102400m'],
      ['512', '512'],
      ['100Mi', '100Mi'],
    ];
    for (const [input, stored] of cases) assert.equal(canonicalQuantity(input), stored, input);
  });
});
