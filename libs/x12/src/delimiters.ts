/**
 * X12 delimiters are not fixed: each interchange declares its own in the ISA segment, which has
 * fixed-width elements, so the element separator is byte 3, the repetition separator byte 82
 * (ISA11, from version 00402 on), the component separator byte 104 (ISA16) and the segment
 * terminator byte 105.
 * @see ASC X12.5 / X12.6 Interchange Control Structures, ISA segment
 */
export interface X12Delimiters {
  readonly element: string;
  readonly component: string;
  /** Undefined when ISA11 is the standards identifier `U` (versions before 00402). */
  readonly repetition: string | undefined;
  readonly segment: string;
}

/** Length of the ISA segment including its terminator. */
export const ISA_LENGTH = 106;

/** Byte positions of the element separators inside a well-formed ISA. */
const SEPARATOR_POSITIONS = [3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103] as const;

/** Why an ISA could not give delimiters (no value is ever repeated). */
export type DelimiterProblem = 'not_isa' | 'isa_layout' | 'delimiters_invalid';

const ALPHANUMERIC = /^[A-Za-z0-9]$/;

/**
 * Reads the delimiters from the first 106 bytes of an interchange.
 * @returns the delimiters, or the problem with the header's layout
 */
export function readDelimiters(isa: Buffer): X12Delimiters | DelimiterProblem {
  if (isa.length < ISA_LENGTH || isa.toString('latin1', 0, 3) !== 'ISA') return 'not_isa';
  const text = isa.toString('latin1', 0, ISA_LENGTH);
  const element = text[3] as string;
  // A header whose separators are not where the fixed widths put them is not an ISA we can trust.
  for (const p of SEPARATOR_POSITIONS) if (text[p] !== element) return 'isa_layout';
  const component = text[104] as string;
  const segment = text[105] as string;
  const rep = text[82] as string;
  const repetition = rep === 'U' || ALPHANUMERIC.test(rep) ? undefined : rep;
  const all = [element, component, segment, ...(repetition === undefined ? [] : [repetition])];
  if (new Set(all).size !== all.length || all.some((d) => ALPHANUMERIC.test(d) || d === ' ')) {
    return 'delimiters_invalid';
  }
  return { element, component, repetition, segment };
}
