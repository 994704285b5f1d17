/**
 * What networking changes in a container's runtime spec: the network namespace pierd made
 * (joined by path) and the per-container `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname`
 * bind-mounted over the image's. Pure.
 */
import type { Spec } from "../../oci/runtime-spec/config.js";

/** The network parts of a container's spec. */
export interface NetworkSpec {
  /** Path of the namespace to join; absent for the host's network. */
  netns?: string;
  /** Host paths of the files to bind over the image's, by destination. */
  files: { hosts: string; resolvConf: string; hostname?: string };
}

/**
 * Applies `n` to `spec`: the network namespace entry gets `path` (or is dropped, with the UTS
 * one, for the host network), ping works in it without raw sockets (ICMP echo sockets), and the
 * files are bind-mounted read-write unless the user mounts something at the same destination
 * (their mount wins, as in Docker). The capabilities are not the network's business: CAP_NET_RAW
 * comes with Docker's default set, which applySecurity (run after this) puts in place.
 */
export function applyNetworkSpec(spec: Spec, n: NetworkSpec): void {
  const linux = spec.linux ?? {};
  spec.linux = linux;
  const others = (linux.namespaces ?? []).filter((ns) => ns.type !== "network");
  if (n.netns) {
    linux.namespaces = [...others, { type: "network", path: n.netns }];
    // As Docker: unprivileged ICMP echo sockets, so `ping` works without CAP_NET_RAW.
    linux.sysctl = { "net.ipv4.ping_group_range": "0 2147483647", ...linux.sysctl };
  } else {
    linux.namespaces = others.filter((ns) => ns.type !== "uts");
    delete spec.hostname;
  }
  const taken = new Set((spec.mounts ?? []).map((m) => m.destination));
  const own: [string, string | undefined][] = [
    ["/etc/hosts", n.files.hosts],
    ["/etc/resolv.conf", n.files.resolvConf],
    ["/etc/hostname", n.files.hostname],
  ];
  for (const [destination, source] of own) {
    if (!source || taken.has(destination)) continue;
    spec.mounts = [
      ...(spec.mounts ?? []),
      { destination, type: "bind", source, options: ["rbind", "rprivate", "rw"] },
    ];
  }
}
