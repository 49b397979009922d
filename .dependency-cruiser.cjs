// Architecture guard rail (run by `npm test` through test/architecture.test.ts):
// no import cycle in lib/, and no import from a lower layer into a higher one.
// Layers, top to bottom: the entry points (index, bayeux, engine), transports,
// server, engines, protocol. The client stands apart: it shares only the protocol.
// TypeScript 7 has no JS API, so imports are read with swc; type-only imports count.
const LAYERS = {
  transports: 'lib/transports/',
  server: 'lib/server/',
  engines: 'lib/engines/',
  protocol: 'lib/protocol/',
};
const ENTRY = '^lib/(index|bayeux|engine)\\.ts$';
const below = (layer) => {
  const order = Object.keys(LAYERS);
  return order.slice(order.indexOf(layer) + 1).map((l) => `^${LAYERS[l]}`);
};
const upward = (layer, allowed) => ({
  name: `no-upward-from-${layer}`,
  comment: `lib/${layer}/ may import only from its own layer and lower ones`,
  severity: 'error',
  from: { path: `^${LAYERS[layer]}` },
  to: { path: '^lib/', pathNot: [`^${LAYERS[layer]}`, ...allowed] },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle in lib/ (type-only imports count)',
      severity: 'error',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    ...Object.keys(LAYERS).map((layer) => upward(layer, below(layer))),
    {
      name: 'extensions-beside-the-top',
      comment: 'lib/extensions/ is for users: only the entry points import it',
      severity: 'error',
      from: { path: '^lib/', pathNot: [ENTRY, '^lib/extensions/'] },
      to: { path: '^lib/extensions/' },
    },
    {
      name: 'client-apart',
      comment: 'lib/client/ shares only lib/protocol/ with the server',
      severity: 'error',
      from: { path: '^lib/client/' },
      to: { path: '^lib/', pathNot: ['^lib/client/', '^lib/protocol/'] },
    },
    {
      name: 'nothing-imports-the-client',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/client/' },
      to: { path: '^lib/client/' },
    },
    {
      name: 'no-stray-lib-files',
      comment: 'every file of lib/ belongs to a layer, the client, the extensions or the entry points',
      severity: 'error',
      from: {
        path: '^lib/',
        pathNot: [ENTRY, '^lib/(transports|server|engines|protocol|client|extensions)/'],
      },
      to: {},
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
