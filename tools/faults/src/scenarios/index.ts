/**
 * Every named scenario, in the order `npm run faults` runs them. A scenario module exports its
 * scenarios as a list; add a module here with one line.
 */
import type { Scenario } from '../scenario.ts';
import { dependencyScenarios } from './dependencies.ts';
import { jobScenarios } from './jobs.ts';
import { networkScenarios } from './network.ts';
import { serviceScenarios } from './services.ts';

export const SCENARIOS: readonly Scenario[] = [
  ...serviceScenarios,
  ...dependencyScenarios,
  ...networkScenarios,
  ...jobScenarios,
];

/** The scenario of that name. @throws RangeError listing the names when there is none. */
export function scenarioByName(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (found === undefined)
    throw new RangeError(`no scenario ${name}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return found;
}
