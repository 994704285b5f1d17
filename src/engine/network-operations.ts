/**
 * The engine's network operations, as every API front calls them: create, remove (refused while
 * a container is configured for the network), prune, connect and disconnect a container, each
 * recording its own event as Docker does (`network` events: create, destroy, connect,
 * disconnect); and the reads the fronts show (definitions, live attachments).
 */
import type { ContainerService } from "./containers/service.js";
import type { EventLog } from "./events.js";
import { checkFilters, createdBy, type Filters, labelsPass, untilMs } from "./filters.js";
import { DEFAULT_NETWORK, type NetworkDefinition } from "./network/conflist.js";
import type { NetworkCreateRequest } from "./network/definitions.js";
import type { NetworkAttachment, NetworkConnection, NetworkService } from "./network/service.js";

/** Networks as the engine's fronts operate on them. */
export class NetworkOperations {
  constructor(
    /** Definitions and attachments underneath. */
    readonly service: NetworkService,
    private readonly containers: ContainerService,
    private readonly events: EventLog,
  ) {}

  /** Every network, the default `bridge` first. */
  list(): NetworkDefinition[] {
    return this.service.list();
  }

  /** A network by name, id or unique id prefix; `NOT_FOUND` otherwise. */
  find(ref: string): NetworkDefinition {
    return this.service.find(ref);
  }

  /** Every live attachment (running containers with their addresses). */
  attachments(): NetworkAttachment[] {
    return this.service.attachments();
  }

  /** Container `id`'s live attachment, if it runs with one. */
  attachment(id: string): NetworkAttachment | undefined {
    return this.service.attachment(id);
  }

  /** The networks container `id` was connected to beyond its own. */
  connections(id: string): NetworkConnection[] {
    return this.service.connections(id);
  }

  private record(action: string, def: NetworkDefinition, extra: Record<string, string> = {}): void {
    this.events.record("network", action, def.id, { name: def.name, type: "bridge", ...extra });
  }

  /** Creates a bridge network (see `NetworkService.create`) and records `create`. */
  async create(input: NetworkCreateRequest): Promise<NetworkDefinition> {
    const def = await this.service.create(input);
    this.record("create", def);
    return def;
  }

  /** Removes network `ref` and records `destroy`; `INVALID_STATE` while a container is configured for it. */
  async remove(ref: string): Promise<void> {
    const def = this.service.find(ref);
    await this.service.remove(def.id, this.containers.networkUsers(def.id));
    this.record("destroy", def);
  }

  /**
   * Removes every user network no container is configured for that passes `filters` (`label`,
   * `label!`, `until`); resolves with their names.
   */
  async prune(filters: Filters = {}): Promise<string[]> {
    checkFilters(filters, "networkPrune");
    const until = untilMs(filters);
    const deleted: string[] = [];
    for (const def of this.service.list()) {
      if (def.name === DEFAULT_NETWORK || this.containers.networkUsers(def.id).length) continue;
      if (!createdBy(def.created, until) || !labelsPass(filters, def.labels)) continue;
      await this.service.remove(def.id, []);
      this.record("destroy", def);
      deleted.push(def.name);
    }
    return deleted;
  }

  /** Connects container `container` to network `ref` with further `aliases`; records `connect`. */
  async connect(container: string, ref: string, aliases: readonly string[] = []): Promise<void> {
    const def = this.service.find(ref);
    const rec = this.containers.find(container);
    await this.containers.connect(rec.id, def.id, aliases);
    this.record("connect", def, { container: rec.id });
  }

  /** Disconnects container `container` from network `ref`; records `disconnect`. */
  async disconnect(container: string, ref: string): Promise<void> {
    const def = this.service.find(ref);
    const rec = this.containers.find(container);
    await this.containers.disconnect(rec.id, def.id);
    this.record("disconnect", def, { container: rec.id });
  }
}
