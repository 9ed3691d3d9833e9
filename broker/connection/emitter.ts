/**
 * The typed event emitter of the venue connections. A listener that throws is reported through
 * `onListenerError` and the other listeners still run: a bug in one consumer (a strategy's
 * fan-out, a metrics hook) must not break the socket loop that emitted the event, nor keep the
 * event from the broker's own listeners. (Node's EventEmitter throws into the emitter instead.)
 */
export type EventMap = Record<string, unknown[]>;
type Listener = (...args: unknown[]) => void;

export class TypedEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<Listener>>();
  constructor(private readonly onListenerError: (event: string, err: unknown) => void = () => undefined) {}

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof E>(event: K, fn: (...args: E[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as unknown as Listener);
    return () => this.off(event, fn);
  }
  off<K extends keyof E>(event: K, fn: (...args: E[K]) => void): void {
    this.listeners.get(event)?.delete(fn as unknown as Listener);
  }
  /** Resolves with the next emission of `event`. */
  once<K extends keyof E>(event: K): Promise<E[K]> {
    return new Promise((resolve) => {
      const off = this.on(event, (...args) => {
        off();
        resolve(args);
      });
    });
  }
  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners.get(event)?.size ?? 0;
  }
  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) {
      try {
        fn(...(args as unknown[]));
      } catch (err) {
        this.onListenerError(String(event), err);
      }
    }
  }
}
