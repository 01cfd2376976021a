import { randomBytes } from 'node:crypto';

// SLS request ids are 24 uppercase hex chars. A per-process random prefix plus a counter keeps them unique without
// a random draw per request.
const prefix = randomBytes(6).toString('hex').toUpperCase();
let counter = 0;

export function nextRequestId(): string {
  counter = (counter + 1) % 0x1000000000000;
  return prefix + counter.toString(16).toUpperCase().padStart(12, '0');
}
