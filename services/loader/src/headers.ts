/** Kafka headers as UTF-8 strings (Kafka allows repeated names; the first value wins). */
export function headersOf(headers: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const first: unknown = Array.isArray(raw) ? raw[0] : raw;
    if (typeof first === 'string') out[name] = first;
    else if (Buffer.isBuffer(first)) out[name] = first.toString('utf8');
  }
  return out;
}
