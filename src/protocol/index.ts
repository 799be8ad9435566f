/** The FUSE 7.45 wire codec: constants, typed structs, request decoding, reply and notification encoding. */
export * from './abi.ts';
export type * from './types.ts';
export * from './decode.ts';
export * from './encode.ts';
export * from './client.ts';
export * from './debug.ts';
export * from './opcodes.ts';
