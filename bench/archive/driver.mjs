// Driver for bench/archive/run.sh: calls pier's archive library (compiled to $PIER_BUILD, default
// .build/bench-archive) the way a program would. Subcommands:
//   export-docker <layout> <name> <out.tar>    docker-archive of one image
//   import-docker <archive> <layout>            docker-archive into a layout
//   export-oci <layout> <name> <out.tar>       OCI archive of one image
//   import-oci <archive> <layout>               OCI archive into a layout
//   report <results.tsv>                        medians and ratios table
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const build = resolve(process.env.PIER_BUILD ?? ".build/bench-archive");
const lib = (p) => import(pathToFileURL(`${build}/${p}`).href);

const [cmd, ...args] = process.argv.slice(2);

async function open(root) {
  const { LocalContentStore } = await lib("content/local-store.js");
  const { OciLayout } = await lib("content/layout.js");
  return { store: await LocalContentStore.open(root), layout: await OciLayout.open(root) };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

if (cmd === "export-docker" || cmd === "export-oci") {
  const [root, name, out] = args;
  const { store, layout } = await open(root);
  const m = await lib(
    cmd === "export-docker" ? "image/archive/docker-archive.js" : "image/archive/oci-archive.js",
  );
  await (cmd === "export-docker" ? m.exportDockerArchive : m.exportOciArchive)(store, layout, [name], out);
} else if (cmd === "import-docker" || cmd === "import-oci") {
  const [archive, root] = args;
  const { store, layout } = await open(root);
  const m = await lib(
    cmd === "import-docker" ? "image/archive/docker-archive.js" : "image/archive/oci-archive.js",
  );
  await (cmd === "import-docker" ? m.importDockerArchive : m.importOciArchive)(archive, store, layout);
} else if (cmd === "report") {
  // results.tsv lines: <case> <tool> <seconds>
  const rows = readFileSync(args[0], "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split("\t"));
  const cases = [...new Set(rows.map((r) => r[0]))];
  console.log("case            pier(s)  skopeo(s)  pier/skopeo");
  for (const c of cases) {
    const t = (tool) => median(rows.filter((r) => r[0] === c && r[1] === tool).map((r) => Number(r[2])));
    const p = t("pier");
    const s = t("skopeo");
    console.log(
      `${c.padEnd(15)} ${p.toFixed(2).padStart(7)}  ${s.toFixed(2).padStart(9)}  ${(p / s).toFixed(2).padStart(11)}`,
    );
  }
} else {
  console.error(`unknown subcommand ${cmd}`);
  process.exit(2);
}
