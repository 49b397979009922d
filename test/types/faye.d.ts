/** The parts of the Faye client (no published types) the interop tests use. */
declare module 'faye' {
  export interface FayeMessage {
    channel: string;
    clientId?: string;
    data?: unknown;
    ext?: Record<string, unknown>;
    error?: string;
    successful?: boolean;
    [key: string]: unknown;
  }
  export interface FayeExtension {
    incoming?(message: FayeMessage, callback: (message: FayeMessage) => void): void;
    outgoing?(message: FayeMessage, callback: (message: FayeMessage) => void): void;
  }
  /** A thenable that settles when the server answers. */
  export interface Deferred extends PromiseLike<unknown> {
    cancel?(): void;
  }
  export class Client {
    constructor(endpoint: string, options?: { timeout?: number; retry?: number; interval?: number });
    disable(feature: string): void;
    setHeader(name: string, value: string): void;
    addExtension(extension: FayeExtension): void;
    connect(callback?: () => void): void;
    subscribe(channel: string, callback: (data: unknown) => void): Deferred & { cancel(): void };
    unsubscribe(channel: string, callback?: (data: unknown) => void): void;
    publish(channel: string, data: unknown, options?: { attempts?: number; deadline?: number }): Deferred;
    disconnect(): void;
    on(event: 'transport:up' | 'transport:down', listener: () => void): void;
    _dispatcher: { clientId: string | undefined; connectionType: string | undefined };
  }
  export class NodeAdapter {
    constructor(options: { mount: string; timeout?: number; ping?: number; engine?: Record<string, unknown> });
    attach(server: import('node:http').Server): void;
    getClient(): Client;
    close(): void;
    on(event: string, listener: (...args: unknown[]) => void): void;
  }
  const faye: { Client: typeof Client; NodeAdapter: typeof NodeAdapter; logger?: unknown };
  export default faye;
}

/** faye-redis (no published types): Faye's Redis engine, passed as `engine: { type, host, port, namespace }`. */
declare module 'faye-redis' {
  const engine: unknown;
  export default engine;
}
