export {
  FUNCTIONAL_ID,
  GUIDE,
  seededRandom,
  syntheticSet,
  type SetDrift,
  type SetKind,
  type SetOptions,
  type SimClaim,
  type SimPlant,
} from './claims.ts';
export {
  ODD_DELIMITERS,
  USUAL_DELIMITERS,
  syntheticInterchange,
  type FileFault,
  type InterchangeOptions,
  type SimDelimiters,
  type SimFile,
} from './interchange.ts';
