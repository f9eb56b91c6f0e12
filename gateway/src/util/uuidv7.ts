// Message ids are part of the contract: the generator lives there (one implementation for gateway and bridge).
export { uuidv7 } from '@gridgate/contract';
