import type { Logger } from 'pino';
import type { RawUplink, RejectReason } from '../model/readings.js';

/**
 * What the composition root hands every southbound source (runtime/ builds it once; each source's deps take the
 * part they use, plus what is their own: a config section, the devices it serves, a frame consumer).
 */
export interface SourceDeps {
  /** What a source delivers: one raw uplink into the pipeline; `done` runs once what it produced is durable (MQTT sources acknowledge then). */
  accept(raw: RawUplink, done: (err?: Error) => void): void;
  /** Counts and logs a refused input. */
  reject(deviceId: string, reason: RejectReason, detail: string): void;
  /** How a source reports availability: retained online/offline of a device, an OPC-UA endpoint, an LNS connection, a camera. */
  setAvailability(id: string, state: 'online' | 'offline', at: number, reason?: string): void;
  log: Logger;
}

/** A southbound source as runtime/ runs it: started once the gateway is built, stopped before its stores close. */
export interface Source {
  start(): Promise<void>;
  stop(): Promise<void>;
}
