import type { MethodModule } from './types.ts';

/**
 * `keep`: the value passes unchanged. On a PHI-classified field this publishes PHI in clear, so
 * it is refused unless the policy is a limited data set (`allowPhiInClear`), and refused on an
 * unclassified field in every policy (default-deny).
 */
export const keepMethod: MethodModule<{ method: 'keep' }> = {
  method: 'keep',
  output: 'unchanged',
  check({ field, policy }) {
    if (field.phiClass === 'unclassified') {
      return ['keep is not allowed on an unclassified field (default-deny: classify it first)'];
    }
    if (field.phiClass !== 'none' && !policy.allowPhiInClear) {
      return [
        `keep would publish a "${field.phiClass}" PHI field in clear; expected drop, hash, dateShift, generalize or scrub (or allowPhiInClear for a limited data set)`,
      ];
    }
    return [];
  },
  create: () => undefined,
};
