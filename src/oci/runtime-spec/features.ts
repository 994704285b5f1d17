/**
 * The `features` document (runtime-spec `features.md`) that pier-runtime prints: what it actually
 * implements, no more.
 */

/** The `features` JSON shape (the parts pier fills). */
export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean; rdma?: boolean };
    seccomp: { enabled: boolean } & Record<string, unknown>;
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
    intelRdt: { enabled: boolean };
    mountExtensions: { idmap: { enabled: boolean } };
  };
  annotations: Record<string, string>;
}

/** What the running build supports, filled in by the runtime. */
export interface FeatureInputs {
  mountOptions: readonly string[];
  capabilities: readonly string[];
  cgroups: boolean;
  /** The `linux.seccomp` object (enabled, actions, operators, archs, flags). */
  seccomp: { enabled: boolean } & Record<string, unknown>;
}

/** The features document. */
export function runtimeFeatures(inputs: FeatureInputs): Features {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: "1.3.0",
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: [...inputs.mountOptions],
    linux: {
      namespaces: ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
      capabilities: [...inputs.capabilities],
      cgroup: { v1: inputs.cgroups, v2: inputs.cgroups, systemd: false, systemdUser: false },
      seccomp: { ...inputs.seccomp },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { "org.opencontainers.runtime-spec.features.pier": "pier-runtime 0.1.0" },
  };
}
