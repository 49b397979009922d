// A TypeScript user's code against the packed package (compiled by test/package/packed.test.ts
// with TypeScript 5 under node10, node16 and bundler resolution). Every line is a type assertion.
import 'express-session';
import 'passport';
import { expectTypeOf } from 'expect-type';
import { type BayeuxServer, bayeux, type ClientInfo, type ConnectEvent, ServerClosedError } from 'express-bayeux';
import { BayeuxClient, type BayeuxClientError, type ClientState, type Message } from 'express-bayeux/client';
import { BayeuxClient as BrowserClient } from 'express-bayeux/client/browser';

// The user type comes from Express's global `Express.User`, as Passport users declare it.
declare global {
  namespace Express {
    interface User {
      id: string;
      name: string;
    }
  }
}

const server = bayeux({
  messageACL(client, message, ctx) {
    // ctx.client is there, and so is the user, typed.
    expectTypeOf(ctx.client).toEqualTypeOf<ClientInfo<Express.User> | undefined>();
    expectTypeOf(ctx.user).toEqualTypeOf<Express.User | undefined>();
    // ctx.req is Express's request: what express-session and Passport add needs no cast.
    if (ctx.req !== undefined) {
      expectTypeOf(ctx.req.session.id).toEqualTypeOf<string>();
      expectTypeOf(ctx.req.isAuthenticated()).toEqualTypeOf<boolean>();
    }
    expectTypeOf(message).toEqualTypeOf<Message>();
    return client === undefined || ctx.user?.name !== 'mallory';
  },
});
expectTypeOf(server).toEqualTypeOf<BayeuxServer<Express.User>>();
server.on('connect', (event) => {
  expectTypeOf(event).toEqualTypeOf<ConnectEvent<Express.User>>();
  expectTypeOf(event.user?.name).toEqualTypeOf<string | undefined>();
});
// @ts-expect-error: no such server event
server.on('publsh', () => {});
expectTypeOf(server.publish('/a', 1)).toEqualTypeOf<Promise<void>>();
expectTypeOf(new ServerClosedError('publish').code).toEqualTypeOf<'BAYEUX_SERVER_CLOSED'>();

const client = new BayeuxClient('http://localhost/cometd', { webSocketTimeout: 5000 });
client.on('state', (state) => expectTypeOf(state).toEqualTypeOf<ClientState>());
client.on('error', (error) => expectTypeOf(error).toEqualTypeOf<BayeuxClientError>());
// @ts-expect-error: no such client event
client.on('stat', () => {});
// The browser bundle has the same API (its own declarations: compared by shape).
expectTypeOf(new BrowserClient('/cometd').connect()).toEqualTypeOf<Promise<void>>();
expectTypeOf<ConstructorParameters<typeof BrowserClient>>().toEqualTypeOf<ConstructorParameters<typeof BayeuxClient>>();
