import type { MethodModule } from './types.ts';

/** `drop`: the field is removed from the clean schema and from every clean record. */
export const dropMethod: MethodModule<{ method: 'drop' }> = {
  method: 'drop',
  output: 'removed',
  check: () => [],
  create: () => undefined,
};
