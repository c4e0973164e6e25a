// The whole test cluster's per-checkout network plan (test/harness/node.ts): every slot's CIDRs, bridge, table,
// chain, cgroup root and ports are distinct from every other slot's and from the bare API server's service CIDR,
// so two checkouts' clusters never share a route, a bridge or a port.
import { describe, expect, it } from 'vitest';
import { planFor, SLOTS } from '../../harness/node.ts';

function cidrRange(cidr: string): [number, number] {
  const [ip, bits] = cidr.split('/') as [string, string];
  const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return [n, n + size - 1];
}
const overlaps = (a: string, b: string) => {
  const [a0, a1] = cidrRange(a);
  const [b0, b1] = cidrRange(b);
  return a0 <= b1 && b0 <= a1;
};

describe('whole-cluster network plan', () => {
  const plans = Array.from({ length: SLOTS }, (_, i) => planFor(i));

  it('gives every slot its own CIDRs, none overlapping another slot, the bare API server or 127/8', () => {
    const cidrs = plans.flatMap((p) => [p.serviceCidr, p.podCidr]);
    for (let i = 0; i < cidrs.length; i++) {
      for (let j = i + 1; j < cidrs.length; j++) expect(overlaps(cidrs[i]!, cidrs[j]!), `${cidrs[i]} / ${cidrs[j]}`).toBe(false);
      expect(overlaps(cidrs[i]!, '10.96.0.0/16')).toBe(false);
      expect(overlaps(cidrs[i]!, '127.0.0.0/8')).toBe(false);
    }
  });

  it('keeps the node subnet and the fake nodes\' pod range inside the slot\'s pod CIDR, apart from each other', () => {
    for (const p of plans) {
      expect(overlaps(p.nodeSubnet, p.podCidr) && cidrRange(p.nodeSubnet)[0] >= cidrRange(p.podCidr)[0]).toBe(true);
      expect(cidrRange(p.kwokCidr)[1]).toBeLessThanOrEqual(cidrRange(p.podCidr)[1]);
      expect(overlaps(p.nodeSubnet, p.kwokCidr)).toBe(false);
      expect(overlaps(`${p.gateway}/32`, p.nodeSubnet)).toBe(true);
    }
  });

  it('never reuses a bridge name, routing table, iptables chain, cgroup root or port', () => {
    for (const key of ['bridge', 'sink', 'table', 'chain', 'cgroupRoot'] as const) {
      expect(new Set(plans.map((p) => p[key])).size).toBe(SLOTS);
    }
    const ports = plans.flatMap((p) => Object.values(p.ports));
    expect(new Set(ports).size).toBe(ports.length);
    // Linux interface names are at most 15 characters.
    expect(plans.every((p) => p.bridge.length <= 15 && p.sink.length <= 15)).toBe(true);
  });

  it('gives the second node its own pod subnet and an address on the bridge the first node never hands out', () => {
    const ipNum = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    for (const p of plans) {
      const n = p.second;
      // Its pods: inside the slot's pod CIDR (routed there, unreachable otherwise), apart from the first node's
      // subnet and the fake nodes' range.
      expect(overlaps(n.podSubnet, p.podCidr) && cidrRange(n.podSubnet)[0] >= cidrRange(p.podCidr)[0]).toBe(true);
      expect(overlaps(n.podSubnet, p.nodeSubnet)).toBe(false);
      expect(overlaps(n.podSubnet, p.kwokCidr)).toBe(false);
      expect(overlaps(`${n.podGateway}/32`, n.podSubnet)).toBe(true);
      // Its address: on the first node's bridge subnet, above the first node's IPAM range (never a pod's).
      expect(overlaps(`${n.address}/32`, p.nodeSubnet)).toBe(true);
      expect(overlaps(`${p.nodeRangeEnd}/32`, p.nodeSubnet)).toBe(true);
      expect(ipNum(n.address)).toBeGreaterThan(ipNum(p.nodeRangeEnd));
      expect(n.address).not.toBe(p.gateway);
      expect(n.nodeName).not.toBe(p.nodeName);
      expect([n.vethHost, n.vethNode, n.bridge].every((name) => name.length <= 15)).toBe(true);
      expect(n.cgroupRoot).not.toBe(p.cgroupRoot);
    }
    for (const key of ['netns', 'vethHost', 'vethNode', 'bridge', 'cgroupRoot', 'podSubnet'] as const) {
      expect(new Set(plans.map((p) => p.second[key])).size).toBe(SLOTS);
    }
    // No name of one slot is another slot's (a veth of slot 1 is not the bridge of slot 12, ...).
    const names = plans.flatMap((p) => [p.bridge, p.sink, p.second.vethHost, p.second.vethNode, p.second.bridge]);
    expect(new Set(names).size).toBe(names.length);
  });
});
