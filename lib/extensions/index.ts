/** Extensions that ship with the server. Acknowledged delivery is the `ack` option (it needs the delivery path). */
export { timesyncExtension } from './timesync.js';
