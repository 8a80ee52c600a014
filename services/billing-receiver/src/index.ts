export { billingEnv, type BillingConfig } from './config.ts';
export { decryptCopy } from './files.ts';
export { startBillingReceiver, type RunningBillingReceiver } from './service.ts';
export { billingProgressKeys } from './progress.ts';
