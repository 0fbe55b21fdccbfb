// A signal, as in SimGrid's xbt::signal: handlers fire synchronously, in connection order.
export class Signal<A extends unknown[]> {
  private handlers: ((...args: A) => void)[] = [];

  /** Connects a handler; returns a function that disconnects it. */
  connect(handler: (...args: A) => void): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  emit(...args: A): void {
    // A copy, so a handler that connects or disconnects does not disturb this emission.
    for (const h of this.handlers.slice()) h(...args);
  }

  get size(): number {
    return this.handlers.length;
  }
}
