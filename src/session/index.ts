/** The protocol engine: a Session serves a LowLevelFs over any Transport. */
export * from './session.ts';
export type * from './lowlevel.ts';
export * from './notify.ts';
export { defaultWant, initFlagNames } from './init.ts';
export type { Negotiated } from './init.ts';
export type { Channel, FrameSink, Transport } from '../transport/transport.ts';
