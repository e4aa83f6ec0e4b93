// Counts in words: "1 object", "2 objects", "2,500 workloads" — in notifications, the Output channel, views and audit rows.

/** The count with thousands separators (en-US, as the rest of the UI) and the noun in the right number. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;
}
