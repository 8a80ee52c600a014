/**
 * Runs inside a link's server namespace (`openNetnsGateway` starts it): accepts TCP connections
 * on `<host> <port>` and forwards each to the Unix socket `<path>`, which the gateway's host side
 * serves. A Unix socket crosses network namespaces without touching the network, so the faulty
 * link is crossed exactly once each way. Prints `listening <port>` once ready.
 */
import net from 'node:net';

const [host, port, path] = process.argv.slice(2);
if (host === undefined || port === undefined || path === undefined) {
  process.stderr.write('usage: ns-forwarder.ts <host> <port> <unix socket path>\n');
  process.exit(2);
}
const server = net.createServer((client) => {
  const upstream = net.connect(path);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.resetAndDestroy());
  client.pipe(upstream).pipe(client);
});
server.listen(Number(port), host, () => {
  process.stdout.write(`listening ${(server.address() as net.AddressInfo).port}\n`);
});
process.once('SIGTERM', () => process.exit(0));
