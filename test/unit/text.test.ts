import assert from 'node:assert/strict';
import fc from 'fast-check';
import { displayLines, displayText } from '../../src/core/text';

describe('displayText: untrusted text made safe for the dialog, diff titles and tool results', () => {
  it('removes bidi overrides, isolates and zero-width characters that survive a control-character filter', () => {
    // "Copilot" followed by a right-to-left override that would show "evorppa" reversed as "approve".
    assert.equal(displayText('Copilot\u202Eevorppa'), 'Copilot evorppa');
    assert.equal(displayText('a\u2066b\u2069c\u200Bd\u200De\uFEFFf\u00ADg'), 'a b c d e f g');
    assert.equal(displayText('tag\u{E0041}\u{E0042}s'), 'tag s');
  });

  it('keeps everything on one line: U+2028, U+2029, CR, LF, tabs and NEL become one space', () => {
    assert.equal(displayText('claude\u2028Approved by the on-call\u2029\r\n\tok\u0085!'), 'claude Approved by the on-call ok !');
  });

  it('bounds the length in code points and never splits a surrogate pair', () => {
    assert.equal(displayText('x'.repeat(500)).length, 100);
    assert.ok(displayText('x'.repeat(500)).endsWith('…'));
    const emoji = displayText('😀'.repeat(50), 10);
    assert.equal(Array.from(emoji).length, 10);
    assert.doesNotMatch(emoji, /[\uD800-\uDFFF](?![\uDC00-\uDFFF])/u);
    assert.equal(displayText('short', 10), 'short');
  });

  it('for any input: no unsafe character, one line, bounded', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.integer({ min: 1, max: 120 }), (value, max) => {
        const shown = displayText(value, max);
        assert.doesNotMatch(shown, /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}]/u);
        assert.ok(Array.from(shown).length <= max);
        assert.equal(shown, shown.trim());
      }),
      { numRuns: 500 },
    );
  });

  it('displayLines keeps line breaks but cleans and bounds every line and the line count', () => {
    assert.equal(displayLines('one\u202E\ntwo\u2028three\n4\n5', 20, 3), 'one\ntwo three\n4\n…(1 more lines)');
  });
});
