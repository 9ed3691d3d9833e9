// Re-exported message types so strategy authors import only from the SDK.
export type { Tick, OrderUpdate, IntentReply, Side, KillLevel, BrokerEvent } from '../actors/messages.ts';
export type { Venue } from '../actors/subjects.ts';
