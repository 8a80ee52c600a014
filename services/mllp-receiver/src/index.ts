export { receiverEnv, type ReceiverConfig } from './config.ts';
export { startReceiver, type RunningReceiver, type StartOptions } from './service.ts';
