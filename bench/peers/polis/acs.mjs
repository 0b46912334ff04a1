#!/usr/bin/env node
// In-process timing of Ory Polis (@boxyhq/saml-jackson) SP-initiated SAML logins.
// Recipe: shared/research/peers.md §5.4. See README.md in this directory.
//
// Per login (sequential, no HTTP):
//   authorize   oauthController.authorize()        session + signed AuthnRequest   (timed)
//   IdP         saml20.createSAMLResponse()        RSA-2048/SHA-256 test IdP        (NOT timed)
//   ACS         oauthController.samlResponse()     signature, audience, time, session -> code (timed)
//   token+ui    oauthController.token() + userInfo()                              (timed)

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const USAGE = `usage: node acs.mjs [--engine mem|sqlite|postgres] [--url postgres://...] [-n N] [-c C] [--warmup W]
                   [--sqlite-file PATH] [--verbose]
  --engine   storage engine (default mem)
  --url      PostgreSQL URL, required for --engine postgres (e.g. postgres://rollcall@127.0.0.1:39787/polis_bench)
  -n         timed logins (default 500, max 20000)
  -c         logins in flight at once (default 1, max 64): each phase runs for all N
             logins with C at a time before the next phase starts
  --warmup   untimed logins before the timed ones (default 20, max 1000)
  --sqlite-file  SQLite file (default: fresh temp file, deleted afterwards)
  --verbose  show Polis' info logging`;

function die(msg) {
  console.error(`polis-acs: FAIL: ${msg}`);
  process.exit(1);
}

function parseArgs(argv) {
  const o = { engine: 'mem', url: '', n: 500, c: 1, warmup: 20, sqliteFile: '', verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    const int = (name, max) => {
      const v = val();
      if (!/^\d+$/.test(v)) die(`${name} must be a non-negative integer, got ${v}`);
      const x = Number(v);
      if (x > max) die(`${name} is bounded to ${max}, got ${x}`);
      return x;
    };
    switch (a) {
      case '--engine': o.engine = val(); break;
      case '--url': o.url = val(); break;
      case '-n': case '--n': o.n = int('-n', 20000); break;
      case '-c': case '--c': o.c = int('-c', 64); break;
      case '--warmup': o.warmup = int('--warmup', 1000); break;
      case '--sqlite-file': o.sqliteFile = val(); break;
      case '--verbose': o.verbose = true; break;
      case '-h': case '--help': console.log(USAGE); process.exit(0);
      default: die(`unknown argument ${a}\n${USAGE}`);
    }
  }
  if (!['mem', 'sqlite', 'postgres'].includes(o.engine)) die(`--engine must be mem, sqlite or postgres\n${USAGE}`);
  if (o.engine === 'postgres' && !o.url) die('--engine postgres needs --url postgres://user@host:port/db');
  if (o.n < 1) die('-n must be >= 1');
  if (o.c < 1) die('-c must be >= 1');
  return o;
}

const opt = parseArgs(process.argv.slice(2));

// Polis exports OpenTelemetry metrics only when these are set; keep the run local and quiet.
for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];

const jacksonPkg = require('@boxyhq/saml-jackson/package.json');
const jackson = require('@boxyhq/saml-jackson');
const saml20 = require('@boxyhq/saml20').default;

// ---------- test IdP: openssl RSA-2048 key + self-signed SHA-256 certificate ----------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polis-acs-'));
const keyFile = path.join(tmp, 'idp.key');
const certFile = path.join(tmp, 'idp.crt');
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-sha256', '-nodes', '-days', '2',
  '-subj', '/CN=polis-bench-idp', '-keyout', keyFile, '-out', certFile], { stdio: ['ignore', 'ignore', 'pipe'] });
const idpKey = fs.readFileSync(keyFile, 'utf8');
const idpCert = fs.readFileSync(certFile, 'utf8');

const runId = crypto.randomBytes(6).toString('hex');
const idpEntityId = `https://idp.polis-bench.test/${runId}`;
const idpSsoUrl = 'https://idp.polis-bench.test/sso';
const tenant = `bench-${runId}`; // fresh tenant per run
const product = 'rollcall-bench';
const redirectUri = 'https://app.polis-bench.test/callback';
const externalUrl = 'http://localhost:5225';
const samlPath = '/api/oauth/saml';
const acsUrl = externalUrl + samlPath;
const samlAudience = 'https://saml.boxyhq.com';

let sqliteFile = '';
let db;
if (opt.engine === 'mem') {
  db = { engine: 'mem' };
} else if (opt.engine === 'sqlite') {
  sqliteFile = opt.sqliteFile || path.join(tmp, 'polis.sqlite');
  db = { engine: 'sql', type: 'sqlite', url: sqliteFile };
} else {
  db = { engine: 'sql', type: 'postgres', url: opt.url };
}

const noop = () => {};
const polisOpts = {
  externalUrl,
  samlPath,
  samlAudience,
  idpEnabled: false, // SP-initiated only; IdP-initiated responses are refused
  clientSecretVerifier: crypto.randomBytes(16).toString('hex'),
  noAnalytics: true,
  db,
  logger: {
    info: opt.verbose ? (m, e) => console.error('[polis info]', m, e ?? '') : noop,
    warn: (m, e) => console.error('[polis warn]', m, e ?? ''),
    error: (m, e) => console.error('[polis error]', m, e ?? ''),
  },
};

const nodeWarnings = new Map();
process.on('warning', (w) => {
  const k = `${w.name}: ${w.message}`;
  nodeWarnings.set(k, (nodeWarnings.get(k) || 0) + 1);
});

function cleanup() {
  try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* ignore */ }
}

// Polis' SQL engines retry a failed connection forever; bound the start-up.
async function withTimeout(p, ms, what) {
  let t;
  const timeout = new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what} did not finish within ${ms / 1000}s`)), ms); });
  try { return await Promise.race([p, timeout]); } finally { clearTimeout(t); }
}

const ns = () => process.hrtime.bigint();
const ms = (a, b) => Number(b - a) / 1e6;

// The three timed phases of one login, and the IdP's untimed part between
// authorize and the ACS. Each returns what the next needs; t is its time in ms.
async function authorize(ctl, i) {
  const state = crypto.randomBytes(12).toString('hex');
  const t0 = ns();
  const az = await ctl.oauthController.authorize({
    tenant, product, redirect_uri: redirectUri, state, response_type: 'code',
  });
  const t = ms(t0, ns());
  if (az.error || !az.redirect_url || !az.redirect_url.startsWith(idpSsoUrl)) {
    throw new Error(`login ${i}: authorize did not redirect to the IdP: ${az.error || az.redirect_url}`);
  }
  return { i, state, redirect: az.redirect_url, t };
}

// idp reads the AuthnRequest and mints + signs the response (NOT timed).
async function idp(l) {
  const u = new URL(l.redirect);
  l.relayState = u.searchParams.get('RelayState');
  const samlReq = zlib.inflateRawSync(Buffer.from(u.searchParams.get('SAMLRequest'), 'base64')).toString();
  const requestId = /\sID="([^"]+)"/.exec(samlReq)?.[1];
  if (!l.relayState || !requestId) throw new Error(`login ${l.i}: no RelayState / AuthnRequest ID in authorize redirect`);
  l.email = `user${l.i}@polis-bench.test`;
  l.userId = `u-${runId}-${l.i}`;
  const xml = await saml20.createSAMLResponse({
    audience: samlAudience,
    issuer: idpEntityId,
    acsUrl,
    requestId,
    claims: { email: l.email, raw: { id: l.userId, email: l.email, firstName: 'Bench', lastName: `User${l.i}` } },
    privateKey: idpKey,
    publicKey: idpCert,
  });
  l.SAMLResponse = Buffer.from(xml).toString('base64');
}

async function acs(ctl, l) {
  const t0 = ns();
  const r = await ctl.oauthController.samlResponse({ SAMLResponse: l.SAMLResponse, RelayState: l.relayState });
  const t = ms(t0, ns());
  if (r.error || !r.redirect_url) throw new Error(`login ${l.i}: ACS failed: ${r.error || JSON.stringify(r).slice(0, 300)}`);
  const cb = new URL(r.redirect_url);
  l.code = cb.searchParams.get('code');
  if (cb.origin + cb.pathname !== redirectUri || !l.code || cb.searchParams.get('state') !== l.state) {
    throw new Error(`login ${l.i}: ACS did not return a code + state to the app: ${r.redirect_url.slice(0, 300)}`);
  }
  return t;
}

async function exchange(ctl, conn, l) {
  const t0 = ns();
  const tok = await ctl.oauthController.token({
    grant_type: 'authorization_code', code: l.code, redirect_uri: redirectUri,
    client_id: conn.clientID, client_secret: conn.clientSecret,
  });
  if (!tok.access_token) throw new Error(`login ${l.i}: token() returned no access_token`);
  const ui = await ctl.oauthController.userInfo(tok.access_token);
  const t = ms(t0, ns());
  if (ui.email !== l.email || ui.id !== l.userId || ui.requested?.tenant !== tenant) {
    throw new Error(`login ${l.i}: userInfo returned the wrong user: ${JSON.stringify({ id: ui.id, email: ui.email, tenant: ui.requested?.tenant })}`);
  }
  return t;
}

// phase runs fn over items with c in flight at once and returns the wall
// time in ms and fn's result for each item.
async function phase(items, c, fn) {
  const out = new Array(items.length);
  let next = 0;
  const t0 = ns();
  await Promise.all(Array.from({ length: Math.min(c, items.length) }, async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k]);
    }
  }));
  return { wall: ms(t0, ns()), out };
}

function pct(sorted, p) {
  // nearest-rank percentile
  const k = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[k - 1];
}
function summary(xs, wallMs) {
  const s = [...xs].sort((a, b) => a - b);
  return { rate: xs.length / (wallMs / 1000), p50: pct(s, 50), p99: pct(s, 99) };
}
const f0 = (x) => Math.round(x).toString();
const f2 = (x) => x.toFixed(x < 1 ? 2 : x < 100 ? 1 : 0);

async function main() {
  let ctl;
  try {
    ctl = await withTimeout(jackson.controllers(polisOpts), 60_000, `Polis start-up (${opt.engine})`);
  } catch (e) {
    die(e.message);
  }
  let exitCode = 0;
  try {
    const metadata = saml20.createIdPMetadataXML({
      ssoUrl: idpSsoUrl, entityId: idpEntityId, x509cert: idpCert, wantAuthnRequestsSigned: true,
    });
    const conn = await ctl.connectionAPIController.createSAMLConnection({
      rawMetadata: metadata, tenant, product,
      redirectUrl: [redirectUri], defaultRedirectUrl: redirectUri,
    });
    if (!conn.clientID || !conn.clientSecret) throw new Error('createSAMLConnection returned no clientID/clientSecret');

    for (let i = 0; i < opt.warmup; i++) { // sequential, whole logins, not counted
      const l = await authorize(ctl, -1 - i);
      await idp(l);
      await acs(ctl, l);
      await exchange(ctl, conn, l);
    }

    const idx = Array.from({ length: opt.n }, (_, i) => i);
    const az = await phase(idx, opt.c, (i) => authorize(ctl, i));
    const logins = az.out; // authorize returns the login, with its time in t
    const A = summary(logins.map((l) => l.t), az.wall);
    const w0 = ns();
    await phase(logins, opt.c, (l) => idp(l).then(() => 0));
    const wallS = ms(w0, ns()) / 1000;
    const ac = await phase(logins, opt.c, (l) => acs(ctl, l));
    const C = summary(ac.out, ac.wall);
    const ex = await phase(logins, opt.c, (l) => exchange(ctl, conn, l));
    const T = summary(ex.out, ex.wall);
    const CT = summary(ac.out.map((x, k) => x + ex.out[k]), ac.wall + ex.wall);
    const S = summary(logins.map((l, k) => l.t + ac.out[k] + ex.out[k]), az.wall + ac.wall + ex.wall);

    const cmd = `node acs.mjs ${process.argv.slice(2).join(' ')}`;
    console.log(`# Polis (@boxyhq/saml-jackson ${jacksonPkg.version}) in-process SAML ACS, engine=${opt.engine}`);
    console.log(`# command: ${cmd}`);
    console.log(`# node ${process.version}, ${os.cpus().length} CPU (${os.cpus()[0]?.model?.trim()}), loadavg at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`# ${opt.n} SP-initiated logins, ${opt.c} at a time, after ${opt.warmup} sequential warm-up, 0 failures; IdP signing (untimed) took ${wallS.toFixed(1)} s`);
    console.log('# rate = N / wall time of the phase(s), each phase run for all N logins in turn; p50/p99 nearest-rank of one login\'s time in the phase(s), ms');
    console.log('');
    console.log('| Engine | N | c | authorize/s (p50 / p99) | **ACS/s (p50 / p99)** | token+userinfo/s (p50 / p99) | ACS+token+userinfo/s (p50 / p99) | sign-in/s (p50 / p99) |');
    console.log('|---|---|---|---|---|---|---|---|');
    const cell = (x) => `${f0(x.rate)} (${f2(x.p50)} / ${f2(x.p99)} ms)`;
    const engineName = { mem: 'mem', sqlite: 'SQLite', postgres: 'PostgreSQL' }[opt.engine];
    console.log(`| ${engineName} | ${opt.n} | ${opt.c} | ${cell(A)} | **${cell(C)}** | ${cell(T)} | ${cell(CT)} | ${cell(S)} |`);
    if (nodeWarnings.size) {
      console.log('');
      for (const [k, v] of nodeWarnings) console.log(`# node warning x${v}: ${k}`);
    }
  } catch (e) {
    console.error(`polis-acs: FAIL: ${e.message}`);
    exitCode = 1;
  } finally {
    try { await ctl.close(); } catch (e) { console.error(`polis-acs: close: ${e.message}`); }
    cleanup();
  }
  process.exit(exitCode);
}

process.on('SIGINT', () => { cleanup(); process.exit(130); });
main();
