/**
 * Networks as pier's API shows them (`/v1/networks`, a container's `network`). Types only: the
 * CLI imports them without any of the engine.
 */
import type { NetworkDefinition } from "./conflist.js";
import type { PortMapping } from "./ports.js";

/** A network with the containers attached to it now (`GET /v1/networks/{ref}`). */
export interface NetworkView extends NetworkDefinition {
  containers: { id: string; name: string; address: string }[];
}

/** A container's live network, as pier's API adds it to container records (`null` when it has none). */
export interface ContainerNetworkView {
  network: string;
  address: string;
  gateway: string;
  mac: string;
  ports: PortMapping[];
}
