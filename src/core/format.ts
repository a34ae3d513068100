// Numbers as the CLI's reports and the extension's messages print them.

/** "+0.25 pp" / "−0.75 pp" (U+2212, as in the text reports); a change that rounds to zero is "+0.00 pp". */
export function signedPp(x: number): string {
  const rounded = Math.abs(x) < 0.005 ? 0 : x;
  return `${rounded < 0 ? '−' : '+'}${Math.abs(rounded).toFixed(2)} pp`;
}
