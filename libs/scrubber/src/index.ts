/**
 * Text scrubbing: the one scrubber in front of every log line, error, alert and dead-letter
 * reason (patterns, caller-declared values, operational ids kept readable).
 */
export { PLACEHOLDERS, createScrubber, scrub, type Scrubber, type ScrubberOptions } from './scrubber.ts';
export { CIRCULAR, OMITTED_OBJECT, scrubDeep, type ScrubDeepOptions } from './scrub-deep.ts';
export { isOperationalField } from './operational.ts';
