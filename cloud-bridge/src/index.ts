export { Bridge, createLogger } from './bridge.js';
export { BridgeConfig, loadBridgeConfig, ConfigError } from './config.js';
export { caseFigures, caseTimings, advances, type CaseFigures, type CaseTimings } from './cases.js';
export { parseMessage, topicKind } from './intake.js';
export { webhookSignature } from './adapters/webhook.js';
export { open311Form } from './adapters/open311.js';
