export { seededRandom, type Random } from './prng.ts';
export {
  createFaultProxy,
  MAX_FAULT_MS,
  type ActiveFault,
  type FaultProxy,
  type FaultProxyCounters,
  type FaultProxyOptions,
  type ProxyFault,
} from './proxy.ts';
