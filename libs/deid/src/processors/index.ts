import type { Method } from '../policy.ts';
import { dateShiftMethod } from './date-shift.ts';
import { dropMethod } from './drop.ts';
import { generalizeMethod } from './generalize.ts';
import { hashMethod } from './hash.ts';
import { keepMethod } from './keep.ts';
import { scrubMethod } from './scrub.ts';
import type { MethodModule } from './types.ts';
import { withholdMethod } from './withhold.ts';

/** The processor module of each method. */
export const METHOD_MODULES: Readonly<Record<Method, MethodModule>> = {
  drop: dropMethod,
  keep: keepMethod,
  hash: hashMethod,
  dateShift: dateShiftMethod,
  generalize: generalizeMethod,
  scrub: scrubMethod,
  withhold: withholdMethod,
};
