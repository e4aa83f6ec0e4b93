import assert from 'node:assert/strict';
import { assertContextName, assertDnsLabel, assertDnsSubdomain, InvalidNameError } from '../../src/core/kube/names';

function rejects(fn: () => void, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidNameError);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

describe('kube names', () => {
  describe('assertDnsLabel (namespaces)', () => {
    it('accepts RFC 1123 labels', () => {
      for (const ok of ['shop', 'a', 'kube-system', '0', 'a1-b2', 'x'.repeat(63)]) assertDnsLabel(ok, 'namespace');
    });
    it('rejects shell metacharacters, flags, unicode, dots, upper case, empty and too long', () => {
      for (const bad of ['shop;rm -rf /', '$(id)', '`id`', 'a b', '-n', '--all-namespaces', 'shop-', 'Shop', 'shöp', 'a.b', 'a_b', '', 'x'.repeat(64), 'shop\n']) {
        rejects(() => assertDnsLabel(bad, 'namespace'), /^Invalid namespace /);
      }
    });
    it('says what is allowed, and says when the problem is length', () => {
      rejects(() => assertDnsLabel('Shop', 'namespace'), /lowercase letters a-z, digits 0-9 and "-".*at most 63 characters/);
      rejects(() => assertDnsLabel('x'.repeat(64), 'namespace'), /is 64 characters long/);
      rejects(() => assertDnsLabel('', 'namespace'), /must not be empty/);
    });
    it('escapes and truncates the value it shows', () => {
      // A hidden character is named, not hidden: it is often exactly what makes the name invalid.
      rejects(() => assertDnsLabel('a\nb', 'namespace'), /"a⟨U\+000A⟩b"/);
      rejects(() => assertDnsSubdomain('a\u202Egnp.exe', 'workload name'), /^Invalid workload name "a⟨U\+202E⟩gnp\.exe"/);
      assert.throws(() => assertDnsLabel('y'.repeat(500), 'namespace'), (error: Error) => error.message.length < 400);
    });
  });

  describe('assertDnsSubdomain (object names)', () => {
    it('accepts dotted names up to 253 characters', () => {
      for (const ok of ['checkout-api', 'db-migrate-20240611', 'a.b.c', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`]) {
        assertDnsSubdomain(ok, 'workload name');
      }
    });
    it('rejects metacharacters, leading dashes, empty labels, unicode and too long', () => {
      for (const bad of ['-o=json', '--kubeconfig=/tmp/x', 'a..b', '.a', 'a.', 'a;b', 'a|b', 'a&&b', 'a/b', 'ａｐｉ', 'API', '', 'a'.repeat(254), `${'a'.repeat(64)}.b`]) {
        rejects(() => assertDnsSubdomain(bad, 'workload name'), /^Invalid workload name /);
      }
    });
  });

  describe('assertContextName', () => {
    it('accepts the free-form names real kubeconfigs use', () => {
      for (const ok of ['prod-eu-1', 'arn:aws:eks:eu-west-1:123456789012:cluster/prod', 'gke_project_europe-west1_prod', 'admin@kind-kind', 'my context', 'Prod_EU']) {
        assertContextName(ok);
      }
    });
    it('rejects leading dashes, control characters, line breaks, empty and too long', () => {
      for (const bad of ['-prod', '--context=other', 'prod\n--all', 'prod\r', 'pr\u0000od', 'prod\u2028x', 'a\u001bb', '', 'c'.repeat(254)]) {
        rejects(() => assertContextName(bad), /must not start with "-"/);
      }
    });
  });
});
