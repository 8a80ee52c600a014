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
export { effectiveLoss, type LossMethod } from './link-commands.ts';
export {
  cleanupStaleLinks,
  createNetLink,
  NETNS_PREFIX,
  netnsSupport,
  type LinkFault,
  type NetLink,
  type NetLinkStats,
  type NetnsSupport,
} from './netns.ts';
export { openNetnsGateway, type NetnsGateway } from './ns-gateway.ts';
