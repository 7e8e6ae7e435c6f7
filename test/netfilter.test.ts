/**
 * The shared netfilter model (src/netfilter/): rules built once serve the restore text, the iptables-save form and
 * the packet walk, for the matches of both kube-proxy modes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chain, RuleBuilder } from '../src/netfilter/rule.js';
import { saveLine } from '../src/netfilter/save.js';
import { Table } from '../src/netfilter/table.js';
import { PacketWalker, V_ACCEPT, V_CONTINUE, V_DROP } from '../src/netfilter/walk.js';
import { parseIPv4 } from '../src/net/ipv4.js';

const rng = { next: () => 0.5 };

test('IPVS-mode matches: restore text and iptables-save form', () => {
  const t = new Table('nat');
  const masq = t.ensure('KUBE-MARK-MASQ');
  const r1 = new RuleBuilder('KUBE-NODE-PORT').protocol('tcp').comment('a b').matchSet('KUBE-NODE-PORT-TCP', 'dst').jump(masq);
  assert.equal(r1.text, '-A KUBE-NODE-PORT -p tcp -m comment --comment "a b" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ');
  assert.equal(
    saveLine(r1.text),
    '-A KUBE-NODE-PORT -p tcp -m comment --comment "a b" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ',
  );
  const r2 = new RuleBuilder('KUBE-SERVICES').matchSet('S', 'dst,dst').physdevNotIn().addrtype('src', true).verdict('ACCEPT');
  assert.equal(
    r2.text,
    '-A KUBE-SERVICES -m set --match-set S dst,dst -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT',
  );
  assert.equal(saveLine(r2.text), r2.text);
  const r3 = new RuleBuilder('KUBE-IPVS-OUT-FILTER').src('203.0.113.7').ipvs('203.0.113.7', 'tcp', 80).verdict('DROP');
  assert.equal(r3.text, '-A KUBE-IPVS-OUT-FILTER -s 203.0.113.7 -m ipvs --vaddr 203.0.113.7 --vproto tcp --vport 80 -j DROP');
  assert.equal(saveLine(r3.text), '-A KUBE-IPVS-OUT-FILTER -s 203.0.113.7/32 -m ipvs --vproto 6 --vaddr 203.0.113.7 --vport 80 -j DROP');
});

test('one mark semantics for both modes: (mark & mask) == value, MARK --or/--xor', () => {
  const post = new Chain('POSTROUTING', 'nat', true);
  post.rules = [
    new RuleBuilder('POSTROUTING').mark('0x00004000', true).verdict('RETURN'),
    new RuleBuilder('POSTROUTING').markTarget('xor', '0x00004000'),
    new RuleBuilder('POSTROUTING').masquerade(true),
  ];
  const w = new PacketWalker(() => false);
  w.begin(parseIPv4('10.0.0.1')!, parseIPv4('10.0.0.2')!, 6, 80, rng, 0);
  assert.equal(w.walk(post), V_CONTINUE);
  assert.equal(w.masq, false);
  assert.equal(w.rules, 1);
  w.begin(parseIPv4('10.0.0.1')!, parseIPv4('10.0.0.2')!, 6, 80, rng, 0);
  w.mark = 0x4000 | 0x1;
  assert.equal(w.walk(post), V_ACCEPT);
  assert.equal(w.masq, true);
  assert.equal(w.mark, 0x1, '--xor-mark clears the masquerade bit and keeps the others');
  assert.equal(w.rules, 3);
});

test('ipset tests are counted when reached, and ask the matcher with the rule flags', () => {
  const seen: string[] = [];
  const c = new Chain('KUBE-IPVS-FILTER', 'filter', false);
  c.rules = [
    new RuleBuilder(c.name).matchSet('A', 'dst,dst').verdict('RETURN'),
    new RuleBuilder(c.name).ctstate('NEW').matchSet('B', 'dst').verdict('DROP'),
  ];
  const w = new PacketWalker(() => false, {
    matchSet: (name, flags) => {
      seen.push(`${name} ${flags}`);
      return name === 'B';
    },
  });
  w.begin(1, 2, 17, 53, rng, 0);
  assert.equal(w.walk(c), V_DROP);
  assert.deepEqual(seen, ['A dst,dst', 'B dst']);
  assert.equal(w.setTests, 2);
  assert.equal(w.rules, 2);
});
