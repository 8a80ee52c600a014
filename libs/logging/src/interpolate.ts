/**
 * printf-style interpolation with pino's placeholders (`%s %d %i %f %j %o %O %%`). Objects are
 * rendered by the caller-supplied `stringify` (the logger passes a sanitizing one). As in pino,
 * arguments without a placeholder are ignored and a placeholder without an argument stays as is.
 *
 * The logger interpolates itself, instead of letting pino do it, so the scrubber sees the final
 * message: pieces that are harmless alone ("123", "45", "6789") can form an identifier together.
 */
export function interpolate(
  template: string,
  args: readonly unknown[],
  stringify: (value: unknown) => string,
): string {
  let next = 0;
  return template.replace(/%([sdifjoO%])/g, (placeholder, kind: string) => {
    if (kind === '%') return '%';
    if (next >= args.length) return placeholder;
    const arg = args[next];
    next += 1;
    switch (kind) {
      case 'd':
      case 'f':
        return String(toNumber(arg));
      case 'i':
        return String(Math.trunc(toNumber(arg)));
      case 's':
        return typeof arg === 'object' && arg !== null ? stringify(arg) : String(arg);
      default:
        return stringify(arg);
    }
  });
}

function toNumber(value: unknown): number {
  return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string'
    ? Number(value)
    : Number.NaN;
}
