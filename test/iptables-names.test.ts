import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  base32,
  computeProbability,
  endpointChainName,
  formatFixed,
  goHex08,
  kernelProbability,
  portProtoHash,
  saveProbability,
  serviceChainName,
} from '../src/backends/iptables/index.js';

test('base32 is RFC 4648 (standard alphabet, padded)', () => {
  const enc = (s: string): string => base32(Buffer.from(s));
  // RFC 4648 section 10 test vectors
  assert.equal(enc(''), '');
  assert.equal(enc('f'), 'MY======');
  assert.equal(enc('fo'), 'MZXQ====');
  assert.equal(enc('foo'), 'MZXW6===');
  assert.equal(enc('foob'), 'MZXW6YQ=');
  assert.equal(enc('fooba'), 'MZXW6YTB');
  assert.equal(enc('foobar'), 'MZXW6YTBOI======');
});

test('chain names: prefix + base32(SHA-256(servicePortName + protocol))[:16], as in proxier_test.go', () => {
  // Names that appear in kube-proxy's own expected dumps (pkg/proxy/iptables/proxier_test.go).
  assert.equal(serviceChainName('ns1/svc1:p80', 'tcp'), 'KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal(serviceChainName('ns1/svc1:p80', 'TCP'), 'KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal(serviceChainName('ns2/svc2:p80', 'tcp'), 'KUBE-SVC-GNZBNJ2PO5MGZ6GT');
  assert.equal(serviceChainName('ns2/svc2:p8080', 'tcp'), 'KUBE-SVC-2VJB64SDSIJUP5T6');
  assert.equal(serviceChainName('ns3/svc3:p80', 'tcp'), 'KUBE-SVC-X27LE4BHSL4DOUIK');
  assert.equal(serviceChainName('ns4/svc4:p80', 'tcp'), 'KUBE-SVC-4SW47YFZTEDKD3PK');
  assert.equal(serviceChainName('ns5/svc5:p80', 'tcp'), 'KUBE-SVC-NUKIZ6OKUXPJNT4C');
  assert.equal(serviceChainName('ns4/svc4:p8082', 'tcp'), 'KUBE-SVC-EBDQOQU5SJFXRIL3');
  // the API server's service as it shows up on every real node
  assert.equal(serviceChainName('default/kubernetes:https', 'tcp'), 'KUBE-SVC-NPX46M4PTMTKRN6Y');
  // KUBE-EXT/FW/SVL share the hash
  assert.equal(portProtoHash('ns5/svc5:p80', 'tcp'), 'NUKIZ6OKUXPJNT4C');
  // the protocol is part of the hash: same port name over UDP is another chain
  assert.notEqual(serviceChainName('ns1/svc1:p80', 'udp'), 'KUBE-SVC-XPGD46QRK7WJZT7O');
});

test('endpoint chain names hash servicePortName + protocol + "IP:port"', () => {
  assert.equal(endpointChainName('ns1/svc1:p80', 'tcp', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
  assert.equal(endpointChainName('ns1/svc1:p80', 'tcp', '10.0.1.1:80'), 'KUBE-SEP-SNQ3ZNILQDEJNDQO');
  assert.equal(endpointChainName('ns1/svc1:p80', 'tcp', '10.0.0.0:80'), 'KUBE-SEP-DKGQUZGBKLTPAR56');
  assert.equal(endpointChainName('ns2/svc2:p8080', 'tcp', '10.0.2.1:8080'), 'KUBE-SEP-UHEGFW77JX3KXTOV');
  assert.equal(endpointChainName('ns3/svc3:p80', 'tcp', '10.0.3.1:80'), 'KUBE-SEP-BSWRHOQ77KEXZLNL');
  assert.equal(endpointChainName('ns3/svc3:p8081', 'tcp', '203.0.113.4:8081'), 'KUBE-SEP-RUVVH7YV3PHQBDOS');
  assert.equal(endpointChainName('ns4/svc4:p8082', 'tcp', '10.4.0.1:8082'), 'KUBE-SEP-SU5STNODRYEWJAUF');
  for (const name of [
    endpointChainName('a-very-long-namespace-name-that-is-allowed/and-a-long-service-name:port-name', 'sctp', '10.255.255.254:65535'),
  ]) {
    assert.equal(name.length, 'KUBE-SEP-'.length + 16);
    assert.ok(name.length <= 28, 'iptables chain names must stay within 28 characters');
  }
});

test('probabilities 1/(n-i) are printed with 10 decimals, as computeProbability does', () => {
  // endpoint i of n (0-based) gets 1/(n-i); the last one has no statistic match
  const perService = (n: number): string[] => Array.from({ length: n - 1 }, (_, i) => computeProbability(n - i));
  assert.deepEqual(perService(1), []);
  assert.deepEqual(perService(2), ['0.5000000000']);
  assert.deepEqual(perService(3), ['0.3333333333', '0.5000000000']);
  assert.deepEqual(perService(4), ['0.2500000000', '0.3333333333', '0.5000000000']);
  assert.deepEqual(perService(5), ['0.2000000000', '0.2500000000', '0.3333333333', '0.5000000000']);
  // upstream's TestComputeProbability table
  const upstream: Array<[number, string]> = [
    [1, '1.0000000000'],
    [2, '0.5000000000'],
    [10, '0.1000000000'],
    [100, '0.0100000000'],
    [1000, '0.0010000000'],
    [10000, '0.0001000000'],
    [100000, '0.0000100000'],
    [100001, '0.0000099999'],
  ];
  for (const [n, s] of upstream) assert.equal(computeProbability(n), s, `n=${n}`);
  // Go rounds exact ties to even; JavaScript's toFixed would print 0.0004882813
  assert.equal(computeProbability(2048), '0.0004882812');
  assert.equal(formatFixed(0.125, 2), '0.12');
  assert.equal(formatFixed(0.375, 2), '0.38');
});

test('the kernel holds probabilities as u32/2^31 and iptables-save prints them with 11 decimals', () => {
  assert.equal(kernelProbability('0.5000000000'), 0x40000000);
  assert.equal(saveProbability(kernelProbability(computeProbability(2))), '0.50000000000');
  assert.equal(saveProbability(kernelProbability(computeProbability(3))), '0.33333333349');
  assert.equal(saveProbability(kernelProbability(computeProbability(4))), '0.25000000000');
  assert.equal(saveProbability(kernelProbability(computeProbability(5))), '0.20000000019');
  assert.equal(saveProbability(kernelProbability(computeProbability(6))), '0.16666666651');
  assert.equal(saveProbability(kernelProbability(computeProbability(7))), '0.14285714272');
});

test('the masquerade mark is formatted with Go %#08x', () => {
  assert.equal(goHex08(1 << 14), '0x00004000');
  assert.equal(goHex08(1 << 15), '0x00008000');
});

test('the chain-name SHA-256 (plain JS) equals node:crypto for every input length up to three blocks, and for non-ASCII', async () => {
  const { createHash } = await import('node:crypto');
  const { sha256 } = await import('../src/backends/iptables/names.js');
  for (let len = 0; len <= 200; len++) {
    const s = Array.from({ length: len }, (_, i) => String.fromCharCode(32 + ((i * 7 + len) % 95))).join('');
    assert.equal(Buffer.from(sha256(s)).toString('hex'), createHash('sha256').update(s).digest('hex'), `length ${len}`);
  }
  for (const s of ['é', 'ns/svc:p→80tcp10.0.0.1:80'])
    assert.equal(Buffer.from(sha256(s)).toString('hex'), createHash('sha256').update(s).digest('hex'));
});
