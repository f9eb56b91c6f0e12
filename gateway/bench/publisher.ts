// Load generator for the ingest benchmark, run as its own process so its CPU is not the gateway's.
// argv[2] is JSON: { url, devices, secret?, rate (msg/s total, 0 = as fast as possible), count, topic: 'gridgate'|'plain' }
// Each message is {"seq": n, "sent_ms": epoch ms}; prints one JSON line with what it sent when done.
import mqtt, { type MqttClient } from 'mqtt';
import { derivedPassword } from '../src/southbound/broker/credentials.js';

interface Args {
  url: string;
  devices: number;
  secret?: string;
  rate: number;
  count: number;
  idPrefix: string;
}

const a = JSON.parse(process.argv[2]!) as Args;
const ids = Array.from({ length: a.devices }, (_, i) => `${a.idPrefix}${i}`);
const clients: MqttClient[] = [];
for (let i = 0; i < ids.length; i += 50) {
  // Connect in batches: a thousand simultaneous handshakes are not what a cabinet sees either.
  clients.push(
    ...(await Promise.all(
      ids.slice(i, i + 50).map((id) =>
        mqtt.connectAsync(a.url, { clientId: id, reconnectPeriod: 0, ...(a.secret && { username: id, password: derivedPassword(a.secret, id) }) }),
      ),
    )),
  );
}
process.stdout.write(JSON.stringify({ connected: clients.length }) + '\n');
// Wait for the go signal on stdin so the parent starts its clock when every device is connected.
await new Promise<void>((res) => process.stdin.once('data', () => res()));

let sent = 0;
let acked = 0;
const started = Date.now();
const inflightMax = 1000;
await new Promise<void>((done) => {
  const sendOne = () => {
    const i = sent % clients.length;
    const seq = sent++;
    clients[i]!.publish(`devices/${ids[i]}/up`, JSON.stringify({ seq, sent_ms: Date.now() }), { qos: 1 }, () => {
      acked++;
      if (acked === a.count) done();
      else if (a.rate === 0) pump();
    });
  };
  // Refill the window from the acknowledgements, so the generator sleeps while the system under test works
  // (a setImmediate loop here spun a core waiting for acks and took it from the broker being measured).
  const pump = () => {
    while (sent < a.count && sent - acked < inflightMax) sendOne();
  };
  if (a.rate > 0) {
    // Paced: every 10 ms send what the schedule says is due.
    const timer = setInterval(() => {
      const due = Math.min(a.count, Math.floor(((Date.now() - started) / 1000) * a.rate));
      while (sent < due) sendOne();
      if (sent >= a.count) clearInterval(timer);
    }, 10);
  } else {
    // As fast as the brokers acknowledge, with a bounded number in flight.
    pump();
  }
});
process.stdout.write(JSON.stringify({ sent, acked, seconds: (Date.now() - started) / 1000 }) + '\n');
await Promise.all(clients.map((c) => c.endAsync()));
process.exit(0);
