export * from './net.js';
export * from './mosquitto.js';
export * from './certs.js';
export * from './node-process.js';
