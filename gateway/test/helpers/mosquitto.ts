// Shared with the cloud-bridge tests: one implementation in the testing workspace.
export * from '@gridgate/testing';
