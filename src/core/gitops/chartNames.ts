// Whether a Helm chart can name a workload, read from its text without rendering it: a proposal renders a chart for a
// workload only when it can (docs/ARCHITECTURE.md, "How a proposal chooses what to render"). A name `helm template`
// prints is made of the chart's own text (templates, helpers, subcharts, values files, Chart.yaml), the release name,
// the namespace and numbers; joined, lower-cased, cut by `trunc`. So each part of the name between separators must be
// words of that text put together. Template functions that make text of their own (random strings, hashes, encodings,
// dates, lookups, files, substrings, regular expressions, case splitting) make the chart "may name anything": it is
// rendered, as is a chart with a packaged subchart (.tgz) or a file that is not text.
import { lstat, readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';

/** What a chart's text can make names of. `null` words: the chart may name anything. */
export interface ChartText {
  words: ReadonlySet<string> | null;
  /** Lengths from `trunc N` with a literal N (negative: the last N characters). */
  truncations: readonly number[];
}

/** Functions whose output is not made of words of the chart's text. */
const opaqueFunctions = /\b(rand[A-Za-z]*|uuidv4|sha1sum|sha256sum|sha512sum|adler32sum|md5sum|b64enc|b64dec|b32enc|b32dec|encryptAES|decryptAES|derivePassword|gen[A-Z][A-Za-z]*|buildCustomCert|htpasswd|bcrypt|now|date[A-Za-z]*|htmlDate[A-Za-z]*|unixEpoch|toDate|ago|duration[A-Za-z]*|must[A-Z][A-Za-z]*|lookup|substr|kebabcase|snakecase|initials|shuffle|abbrev[A-Za-z]*|wrap|wrapWith|regex[A-Za-z]*|slice|urlquery|urlParse|urlJoin|js|html|typeOf|kindOf|typeIs|getHostByName|fromJson|toRawJson)\b|\.Files\b/;
/**
 * `replace OLD NEW`, `trimSuffix X`, `trimPrefix X`, `trimAll X`, `split SEP`, `splitList SEP`, `splitn SEP`: they
 * cut words only when OLD / X / SEP has a letter or digit (or is not a literal).
 */
const cuttingFunction = /\b(replace|trimSuffix|trimPrefix|trimAll|split|splitList|splitn)\s+("(?:[^"\\]|\\.)*"|`[^`]*`)?/g;
const truncation = /\btrunc\s+(-?\d+)?/g;
/** printf verbs other than %s %d %v %q (hex, octal, characters, floats, precision) make new characters. */
const printfVerb = /%[-+# 0]*\d*(\.\d*)?([a-zA-Z%])/g;

const baseWords = ['true', 'false', 'nil', 'helm', 'release', 'templates', 'v1', 'v1beta1', 'v2', 'apps', 'batch', 'k8s', 'io', 'networking', 'policy', 'autoscaling', 'rbac', 'authorization', 'storage', 'apiextensions', 'admissionregistration', 'coordination', 'discovery', 'scheduling', 'node', 'events', 'certificates'];

function wordsOf(text: string): string[] {
  return text.toLowerCase().split(/[^a-z0-9]+/).filter((word) => word !== '');
}

/** Every file under `dir` (a chart's templates/, charts/), as text; null when one is not text (a packaged subchart). */
async function textsUnder(dir: string, depth = 0): Promise<string[] | null> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const texts: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth > 16) return null;
      const inner = await textsUnder(full, depth + 1);
      if (inner === null) return null;
      texts.push(entry.name, ...inner);
    } else if (entry.isFile()) {
      const bytes = await readFile(full);
      if (bytes.includes(0)) return null;
      texts.push(entry.name, bytes.toString('utf8'));
    } else return null;
  }
  return texts;
}

/**
 * The words of a chart as `helm template` of the private copy reads it (`chartDir`): Chart.yaml, the values files,
 * everything under templates/ and charts/ (file names too: `.Template.Name`).
 */
export async function readChartText(chartDir: string, valuesFiles: readonly string[]): Promise<ChartText> {
  const texts: string[] = [];
  for (const file of ['Chart.yaml', ...valuesFiles]) {
    const full = path.join(chartDir, file);
    if (!(await lstat(full).then((stats) => stats.isFile(), () => false))) continue;
    texts.push(await readFile(full, 'utf8'));
  }
  for (const dir of ['templates', 'charts']) {
    const inner = await textsUnder(path.join(chartDir, dir));
    if (inner === null) return { words: null, truncations: [] };
    texts.push(...inner);
  }
  const all = texts.join('\n');
  const actions = all.match(/\{\{[\s\S]*?\}\}/g) ?? [];
  const truncations: number[] = [];
  for (const action of actions) {
    if (opaqueFunctions.test(action)) return { words: null, truncations: [] };
    for (const [, , argument] of action.matchAll(cuttingFunction)) {
      // A literal with a letter or digit cuts a word into pieces that are not words; a non-literal may be anything.
      if (argument === undefined || /[A-Za-z0-9]/.test(argument.slice(1, -1))) return { words: null, truncations: [] };
    }
    for (const [, length] of action.matchAll(truncation)) {
      if (length === undefined) return { words: null, truncations: [] };
      truncations.push(Number(length));
    }
    for (const [, precision, verb] of action.matchAll(printfVerb)) {
      if (precision !== undefined || !['s', 'd', 'v', 'q', '%'].includes(verb as string)) return { words: null, truncations: [] };
    }
  }
  return { words: new Set([...baseWords, ...wordsOf(all)]), truncations };
}

/**
 * Whether the chart, installed as `release` in `namespace`, can print `name`: each part between separators is words of
 * its text (or the release, the namespace), numbers, and — where the chart truncates — the start (or end) of a word cut
 * at a length it truncates to.
 */
export function chartMayName(text: ChartText, release: string, namespace: string, name: string): boolean {
  if (text.words === null) return true;
  const words = new Set([...text.words, ...wordsOf(release), ...wordsOf(namespace)]);
  const cut = new Set<string>();
  for (const length of text.truncations) {
    for (const word of words) {
      if (length > 0 && word.length > length) cut.add(word.slice(0, length));
      if (length < 0 && word.length > -length) cut.add(word.slice(length));
    }
  }
  const piece = (value: string) => words.has(value) || cut.has(value) || /^\d+$/.test(value);
  // A whole name cut by `trunc N` (then perhaps a trailing "-" trimmed) may end in the start of any word.
  const truncated = text.truncations.some((length) => length > 0 && (name.length === length || name.length === length - 1));
  const startOfWord = (value: string) => [...words].some((word) => word.startsWith(value));
  const parts = wordsOf(name);
  return parts.every((part, index) => {
    const last = truncated && index === parts.length - 1;
    // Can part[0..end) be made of pieces? Dynamic programming over the end of the last piece.
    const made = [true, ...Array<boolean>(part.length).fill(false)];
    for (let end = 1; end <= part.length; end++) {
      for (let start = 0; start < end && !made[end]; start++) {
        if (made[start] && (piece(part.slice(start, end)) || (last && end === part.length && startOfWord(part.slice(start))))) made[end] = true;
      }
    }
    return made[part.length] === true;
  });
}
