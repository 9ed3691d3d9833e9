import { nuid } from '@nats-io/nuid';

/** A fresh intent id: 22 alphanumeric characters, unique across processes and restarts. */
export function newIntentId(): string {
  return nuid.next();
}
