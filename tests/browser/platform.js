// Starts the whole platform for the browser tests: builds bin/attest (or uses
// $ATTEST_BIN), runs it on a free loopback port with a fresh data directory and the
// demo accounts, posts a small synthetic health system through the public records
// API (`attest generate --post`), and waits until metrics has applied it.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const repo = path.resolve(__dirname, '..', '..');
const DEMO = {
  password: 'attest-demo-password',
  totpSecret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
  token: 'atk_demo-service-account-token-not-a-secret',
};

// totp computes the RFC 6238 code (SHA-1, 6 digits, 30 s) for a base32 secret.
function totp(secret, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const off = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(off) & 0x7fffffff) % 1000000;
  return String(n).padStart(6, '0');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(base, pathAndQuery) {
  const res = await fetch(base + pathAndQuery, { headers: { Authorization: 'Bearer ' + DEMO.token } });
  if (!res.ok) throw new Error(`${pathAndQuery}: ${res.status} ${await res.text()}`);
  return res.json();
}

// start returns { base, bin, dataDir, stop() }.
async function start({ idle = '15s', patients = 200, year = 2025 } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-browser-'));
  let bin = process.env.ATTEST_BIN;
  if (!bin) {
    bin = path.join(dataDir, 'attest');
    execFileSync('go', ['build', '-o', bin, './services/platform/cmd/attest'], { cwd: repo, stdio: 'inherit' });
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env, ATTEST_DATA_DIR: dataDir, ATTEST_HTTP_ADDR: `127.0.0.1:${port}`, GATEWAY_DEMO: 'true',
    GATEWAY_INSECURE_COOKIE: 'true', GATEWAY_SESSION_IDLE: idle, LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL; delete env.REDIS_URL; delete env.KAFKA_BROKERS; // all embedded
  const log = fs.openSync(path.join(dataDir, 'platform.log'), 'a');
  const proc = spawn(bin, ['run'], { cwd: dataDir, env, stdio: ['ignore', log, log] });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const stop = async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await Promise.race([exited, sleep(10000)]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
    if (!process.env.KEEP_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error('the platform exited; see ' + path.join(dataDir, 'platform.log'));
      try { if ((await fetch(base + '/readyz')).ok) break; } catch { /* not listening yet */ }
      if (i > 600) throw new Error('the platform did not become ready');
      await sleep(100);
    }
    execFileSync(bin, ['generate', '--seed', '1', '--patients', String(patients), '--year', String(year),
      '--out', path.join(dataDir, 'generated'), '--post', base + '/records', '--token', DEMO.token],
      { cwd: dataDir, stdio: ['ignore', 'ignore', 'inherit'] });
    // Metrics applies the events asynchronously: wait until its KPIs stop moving.
    let last = '';
    for (let i = 0; i < 120; i++) {
      const k = await api(base, `/metrics/v1/kpis?from=${year}-01-01&to=${year}-12-31&by=clinic`);
      const now = JSON.stringify(k.rows);
      if ((k.rows || []).length > 0 && now === last) break;
      last = now;
      await sleep(1000);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { base, bin, dataDir, stop, api: (p) => api(base, p) };
}

module.exports = { start, totp, DEMO, sleep };
