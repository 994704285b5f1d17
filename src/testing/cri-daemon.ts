/**
 * The fixture of the CRI's test files: a busybox registry, a test pierd serving the CRI (on a
 * CNI config directory of its own, or pier's bridge), the CRI clients and a temp directory, set
 * up before a `describe` block's tests and torn down after them.
 */
import { join } from "node:path";
import { after, before } from "node:test";
import { makeTempDir, removeTempDir } from "./busybox.js";
import { type Client, type CriTestNetwork, call, clients, criTestNetwork } from "./cri-client.js";
import { type BusyboxRegistry, busyboxRegistry, startTestDaemon, type TestDaemon } from "./engine.js";

/** What {@link useCriDaemon} sets up (each field from the block's first test on). */
export interface CriFixture {
  reg: BusyboxRegistry;
  d: TestDaemon;
  /** The CNI config directory pierd reads, unless `cniNetwork: false`. */
  net?: CriTestNetwork;
  rt: Client;
  img: Client;
  /** A temp directory of the block's own (logs, checkpoints), removed after it. */
  dir: string;
  /** New clients after pierd restarted (the old ones closed); returns them. */
  reconnect(): { rt: Client; img: Client };
}

/**
 * Registers, in the calling `describe` block, the `before`/`after` hooks of a CRI test: with
 * `cniNetwork` (default true) pierd gets its own CNI config directory (`--cni-conf-dir`), else
 * pods use pier's bridge; with `pull` the busybox image is pulled through the ImageService.
 * `ready` receives the fixture once up, then `setup` runs (a file's pods, say); after the tests
 * `beforeStop` runs with the daemon still up, then everything is stopped and removed.
 */
export function useCriDaemon(opts: {
  /** Prefix of the temp directory's name (default `pier-cri-`). */
  tempPrefix?: string;
  cniNetwork?: boolean;
  pull?: boolean;
  ready?: (fx: CriFixture) => void;
  setup?: (fx: CriFixture) => Promise<void>;
  beforeStop?: (fx: CriFixture) => Promise<void>;
}): CriFixture {
  const fx = {
    reconnect() {
      fx.rt?.close();
      fx.img?.close();
      ({ runtime: fx.rt, image: fx.img } = clients(join(fx.d.execRoot, "cri.sock")));
      return { rt: fx.rt, img: fx.img };
    },
  } as CriFixture;
  before(async () => {
    fx.reg = await busyboxRegistry();
    if (opts.cniNetwork !== false) fx.net = await criTestNetwork();
    fx.d = await startTestDaemon(fx.net?.flags ?? []);
    fx.dir = await makeTempDir(opts.tempPrefix ?? "pier-cri-");
    ({ runtime: fx.rt, image: fx.img } = clients(join(fx.d.execRoot, "cri.sock")));
    if (opts.pull) await call(fx.img, "PullImage", { image: { image: fx.reg.image } });
    opts.ready?.(fx);
    await opts.setup?.(fx);
  });
  after(async () => {
    try {
      if (fx.rt && opts.beforeStop) await opts.beforeStop(fx);
    } finally {
      fx.rt?.close();
      fx.img?.close();
      await fx.d?.stop();
      await fx.net?.cleanup();
      await fx.reg?.stop();
      if (fx.dir) await removeTempDir(fx.dir);
    }
  });
  return fx;
}
