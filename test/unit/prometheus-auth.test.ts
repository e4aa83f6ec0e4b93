import assert from 'node:assert/strict';
import { decidePrometheusAuth, normalisePrometheusUrl } from '../../src/core/krr/prometheusAuth';
import { matchesGlob } from '../../src/core/settings';

describe('the Prometheus auth header rule', () => {
  const configuredUrl = 'http://prom.example:9090/prometheus';
  const decide = (effectiveUrl: string | undefined) => decidePrometheusAuth({ header: 'Bearer x', configuredUrl, effectiveUrl });

  it('sends the header to the configured URL, however it is spelled', () => {
    for (const url of [configuredUrl, 'HTTP://PROM.EXAMPLE:9090/prometheus', 'http://prom.example:9090/prometheus/', 'http://prom.example:9090/x/../prometheus']) {
      assert.equal(decide(url).send, true, url);
    }
    assert.equal(normalisePrometheusUrl('http://a:80/'), normalisePrometheusUrl('http://a'));
  });

  it('withholds it from any URL that differs by scheme, userinfo, host, trailing dot, port, path, path case or query', () => {
    for (const url of [
      'https://prom.example:9090/prometheus',
      'http://u@prom.example:9090/prometheus',
      'http://prom.example.:9090/prometheus',
      'http://prom.example.evil:9090/prometheus',
      'http://prom.example:9091/prometheus',
      'http://prom.example/prometheus',
      'http://prom.example:9090/Prometheus',
      'http://prom.example:9090/prometheus/api',
      'http://prom.example:9090/prometheus?x=1',
      'not a url',
    ]) {
      assert.deepEqual(decide(url), { send: false, note: 'not sent: URL differs from the configured one' }, url);
    }
  });

  it('withholds it when no URL is configured (auto-discovery) and says when none is stored', () => {
    assert.deepEqual(decidePrometheusAuth({ header: 'Bearer x', configuredUrl: undefined, effectiveUrl: undefined }).send, false);
    assert.equal(decidePrometheusAuth({ header: undefined, configuredUrl, effectiveUrl: configuredUrl }).note, 'none stored');
  });
});

describe('glob matching', () => {
  it('matches * and ? case-insensitively, anchored at both ends', () => {
    assert.equal(matchesGlob('prod-eu-1', '*prod*'), true);
    assert.equal(matchesGlob('PROD', 'prod'), true);
    assert.equal(matchesGlob('db-main', 'db-*'), true);
    assert.equal(matchesGlob('main-db', 'db-*'), false);
    assert.equal(matchesGlob('abc', 'a?c'), true);
    assert.equal(matchesGlob('ac', 'a?c'), false);
    assert.equal(matchesGlob('', '*'), true);
    assert.equal(matchesGlob('a.b', 'a.b'), true);
    assert.equal(matchesGlob('axb', 'a.b'), false);
  });

  it('takes linear-ish time on the shapes that made the regex backtrack (n^6)', () => {
    const started = performance.now();
    for (let stars = 1; stars <= 60; stars += 1) assert.equal(matchesGlob('a'.repeat(253), `${'*a'.repeat(stars)}b`), false);
    assert.ok(performance.now() - started < 500, `${performance.now() - started} ms`);
  });
});
