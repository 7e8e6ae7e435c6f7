/** A service the load can reach: its VIP and port, and where an ingress routes to it. */
export interface Target {
  /** Service key ("namespace/name"). */
  key: string;
  ip: string;
  /** A dual-stack service's IPv6 cluster IP (absent otherwise): a connection to it uses either family. */
  ipv6?: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  /** Where an ingress routes to this service. */
  host: string;
  path: string;
}
