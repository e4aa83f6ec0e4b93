// krr's severity rules (README): CPU |Δ| 0.1/0.25/0.5 cores, memory 100/250/500 MiB, one side null →
// WARNING, "?" → UNKNOWN; a scan's severity is the worst of its four fields.
'use strict';

const ORDER = ['UNKNOWN', 'GOOD', 'OK', 'WARNING', 'CRITICAL'];
const MIB = 1024 * 1024;
const THRESHOLDS = { cpu: [0.1, 0.25, 0.5], memory: [100 * MIB, 250 * MIB, 500 * MIB] };

function fieldSeverity(current, recommended, resource) {
  if (current === '?' || recommended === '?') return 'UNKNOWN';
  if (current === null && recommended === null) return 'GOOD';
  if (current === null || recommended === null) return 'WARNING';
  const diff = Math.abs(current - recommended);
  const [ok, warning, critical] = THRESHOLDS[resource];
  if (diff >= critical) return 'CRITICAL';
  if (diff >= warning) return 'WARNING';
  if (diff >= ok) return 'OK';
  return 'GOOD';
}

function recomputeSeverities(report) {
  for (const scan of report.scans) {
    let worst = 'UNKNOWN';
    for (const side of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) {
        const field = scan.recommended[side][resource];
        field.severity = fieldSeverity(scan.object.allocations[side][resource], field.value, resource);
        if (ORDER.indexOf(field.severity) > ORDER.indexOf(worst)) worst = field.severity;
      }
    }
    scan.severity = worst;
  }
}

/** krr's score: 100 × (scans − 0.7 × WARNING − 1 × CRITICAL) / scans, truncated; 0 without scans. */
function computeScore(scans) {
  if (scans.length === 0) return 0;
  const cost = scans.reduce((sum, scan) => sum + (scan.severity === 'CRITICAL' ? 1 : scan.severity === 'WARNING' ? 0.7 : 0), 0);
  return Math.trunc(((scans.length - cost) / scans.length) * 100);
}

module.exports = { fieldSeverity, recomputeSeverities, computeScore };
