// Shared with the gateway tests: one implementation in the testing workspace.
export * from '@gridgate/testing';
