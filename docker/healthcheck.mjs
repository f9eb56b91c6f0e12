#!/usr/bin/env node
// Docker HEALTHCHECK: GET /healthz on the gateway's local API (served without a token). Exit 0 when it
// answers 200 within 4 s, else 1. The slim image has no curl; node is there anyway.
// GRIDGATE_HEALTH_URL overrides the address (default http://127.0.0.1:$GRIDGATE_API_PORT/healthz, port 8080);
// an https URL skips certificate checks, since this only ever asks the gateway on its own loopback.
import http from 'node:http';
import https from 'node:https';

const url = new URL(process.env.GRIDGATE_HEALTH_URL || `http://127.0.0.1:${process.env.GRIDGATE_API_PORT || '8080'}/healthz`);
const client = url.protocol === 'https:' ? https : http;
const req = client.get(url, { timeout: 4000, rejectUnauthorized: false }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (d) => (body += d));
  res.on('end', () => {
    if (res.statusCode === 200) {
      process.stdout.write(`${body}\n`);
      process.exit(0);
    }
    process.stderr.write(`healthcheck: ${url.href} answered ${res.statusCode}\n`);
    process.exit(1);
  });
});
req.on('timeout', () => req.destroy(new Error('no answer within 4 s')));
req.on('error', (e) => {
  process.stderr.write(`healthcheck: ${url.href}: ${e.message}\n`);
  process.exit(1);
});
