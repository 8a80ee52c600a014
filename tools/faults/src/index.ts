export type {
  EhrUpstream,
  FaultContext,
  FaultDurations,
  FaultOutcome,
  PipelineService,
  PrepareContext,
  Scenario,
  ScenarioJob,
  StackDependency,
} from './scenario.ts';
export { SCENARIOS, scenarioByName } from './scenarios/index.ts';
