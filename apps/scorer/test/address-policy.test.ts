import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPolicy, embeddedIpv4 } from '../src/fetch/address-policy';

test('refuses private, loopback, link-local, unique-local, multicast and reserved addresses', () => {
  const policy = new AddressPolicy();
  const refused = [
    '10.0.0.1',
    '127.0.0.1',
    '127.9.9.9',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:10.0.0.1',
    '::ffff:127.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::1',
  ];
  for (const address of refused) assert.equal(policy.check(address).allowed, false, `${address} must be refused`);
});

test('allows public addresses, including public IPv4 reached over NAT64', () => {
  const policy = new AddressPolicy();
  for (const address of ['8.8.8.8', '172.32.0.1', '151.101.1.1', '2a03:2880::1', '64:ff9b::808:808', '::ffff:8.8.8.8']) {
    assert.equal(policy.check(address).allowed, true, `${address} must be allowed`);
  }
});

test('the allowlist opens exactly what it names', () => {
  const policy = new AddressPolicy(['127.0.0.1', '10.1.0.0/16']);
  assert.equal(policy.check('127.0.0.1').allowed, true);
  assert.equal(policy.check('127.0.0.2').allowed, false);
  assert.equal(policy.check('10.1.2.3').allowed, true);
  assert.equal(policy.check('10.2.0.1').allowed, false);
  assert.equal(policy.check('::1').allowed, false);
  assert.throws(() => new AddressPolicy(['localhost']), /not an IP or CIDR/);
  assert.throws(() => new AddressPolicy(['10.0.0.0/33']), /prefix/);
});

test('reads the IPv4 address embedded in mapped and NAT64 IPv6 addresses', () => {
  assert.equal(embeddedIpv4('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(embeddedIpv4('::ffff:a00:1'), '10.0.0.1');
  assert.equal(embeddedIpv4('64:ff9b::7f00:1'), '127.0.0.1');
  assert.equal(embeddedIpv4('2a03:2880::1'), null);
  assert.equal(embeddedIpv4('10.0.0.1'), null);
});
