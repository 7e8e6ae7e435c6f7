/** A service the load can reach: its VIP and port, and where an ingress routes to it. */
export interface Target {
  /** Service key ("namespace/name"). */
  key: string;
  ip: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  /** Where an ingress routes to this service. */
  host: string;
  path: string;
}
