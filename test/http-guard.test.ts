/**
 * The request rule every leakscope server shares (src/core/http-guard.ts): only requests whose Host
 * names the server itself, and none a foreign web page sends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequest, parseAllowedHosts, parseHostHeader } from '../src/core/http-guard.js';

const loop = { listen: { host: '127.0.0.1', port: 6060 } };

test('the listening address and localhost pass; foreign names, other ports and other interfaces do not', () => {
  assert.equal(checkRequest(loop, { host: '127.0.0.1:6060' }).ok, true);
  assert.equal(checkRequest(loop, { host: 'localhost:6060' }).ok, true);
  assert.equal(checkRequest(loop, { host: 'LocalHost.:6060' }).ok, true);
  for (const host of ['attacker.example', 'attacker.example:6060', '127.0.0.1:6061', 'localhost', '10.1.2.3:6060', '[::1]:6060', '127.0.0.1:6060@evil', ' ', 'a:b:c']) {
    const v = checkRequest(loop, { host });
    assert.equal(v.ok, false, host);
    if (!v.ok) assert.match(v.reason, /^forbidden: /);
  }
  const missing = checkRequest(loop, {});
  assert.equal(missing.ok, false);
  if (!missing.ok) assert.match(missing.reason, /no Host header/);
});

test('IPv6 loopback and wildcard listeners', () => {
  const v6 = { listen: { host: '::1', port: 7000 } };
  assert.equal(checkRequest(v6, { host: '[::1]:7000' }).ok, true);
  assert.equal(checkRequest(v6, { host: '127.0.0.1:7000' }).ok, false);
  const any = { listen: { host: '0.0.0.0', port: 7000 } };
  assert.equal(checkRequest(any, { host: '192.0.2.7:7000' }).ok, true);
  assert.equal(checkRequest(any, { host: 'rebound.example:7000' }).ok, false);
});

test('allowed names: exact, with a port, and a domain suffix', () => {
  const p = { listen: { host: '0.0.0.0', port: 6060 }, allowedHosts: parseAllowedHosts('api.internal, metrics.svc:9000 .cluster.local') };
  assert.equal(checkRequest(p, { host: 'api.internal:6060' }).ok, true);
  assert.equal(checkRequest(p, { host: 'api.internal:1234' }).ok, true);
  assert.equal(checkRequest(p, { host: 'metrics.svc:9000' }).ok, true);
  assert.equal(checkRequest(p, { host: 'metrics.svc:9001' }).ok, false);
  assert.equal(checkRequest(p, { host: 'pod-1.ns.svc.cluster.local:6060' }).ok, true);
  assert.equal(checkRequest(p, { host: 'cluster.local:6060' }).ok, false);
  assert.equal(checkRequest(p, { host: 'evilcluster.local:6060' }).ok, false);
});

test('a mounted handler (no listening address) accepts loopback on any port and allowed names', () => {
  const m = { allowedHosts: ['shop.example'] };
  assert.equal(checkRequest(m, { host: 'localhost:3000' }).ok, true);
  assert.equal(checkRequest(m, { host: '127.0.0.1:8080' }).ok, true);
  assert.equal(checkRequest(m, { host: 'shop.example' }).ok, true);
  assert.equal(checkRequest(m, { host: 'evil.example:3000' }).ok, false);
});

test('cross-site pages are refused; the server\'s own page and non-browser clients are not', () => {
  assert.equal(checkRequest(loop, { host: '127.0.0.1:6060', origin: 'http://evil.example' }).ok, false);
  assert.equal(checkRequest(loop, { host: '127.0.0.1:6060', origin: 'http://localhost:6060' }).ok, false);
  assert.equal(checkRequest(loop, { host: '127.0.0.1:6060', origin: 'null' }).ok, false);
  assert.equal(checkRequest(loop, { host: 'localhost:6060', origin: 'http://localhost:3000' }).ok, false);
  assert.equal(checkRequest(loop, { host: 'localhost:6060', secFetchSite: 'cross-site' }).ok, false);
  assert.equal(checkRequest(loop, { host: 'localhost:6060', secFetchSite: 'same-site' }).ok, false);
  assert.equal(checkRequest(loop, { host: 'localhost:6060', origin: 'http://localhost:6060', secFetchSite: 'same-origin' }).ok, true);
  assert.equal(checkRequest(loop, { host: 'localhost:6060', secFetchSite: 'none' }).ok, true);
});

test('Host header parsing', () => {
  assert.deepEqual(parseHostHeader('Example.COM.:80'), { name: 'example.com', port: 80 });
  assert.deepEqual(parseHostHeader('[::1]'), { name: '::1', port: undefined });
  assert.equal(parseHostHeader('host:99999'), undefined);
  assert.equal(parseHostHeader('[::1'), undefined);
  assert.equal(parseHostHeader('h/x'), undefined);
});

test('`*` allows any Host, but foreign pages are still refused', () => {
  const p = { listen: { host: '127.0.0.1', port: 6060 }, allowedHosts: ['*'] };
  assert.equal(checkRequest(p, { host: 'whatever.example' }).ok, true);
  assert.equal(checkRequest(p, { host: 'whatever.example', origin: 'http://evil.example' }).ok, false);
  assert.equal(checkRequest(p, { host: 'whatever.example', secFetchSite: 'cross-site' }).ok, false);
  assert.equal(checkRequest(p, {}).ok, false);
});

test('an IPv4-mapped loopback literal is loopback for a mounted handler', () => {
  assert.equal(checkRequest({}, { host: '[::ffff:127.0.0.1]:3000' }).ok, true);
  assert.equal(checkRequest({}, { host: '[::ffff:10.0.0.1]:3000' }).ok, false);
});

test('a port forward to another local port needs `localhost` allowed (any port)', () => {
  assert.equal(checkRequest(loop, { host: 'localhost:8080' }).ok, false);
  assert.equal(checkRequest({ ...loop, allowedHosts: ['localhost'] }, { host: 'localhost:8080' }).ok, true);
});
