// Driver for bench/layers/run.sh: calls pier's layer library (compiled to $PIER_BUILD, default
// .build/bench) the way a program would. Subcommands:
//   gen <dir>                         deterministic ~500 MB tree: 20,000 small files + 6 large ones
//   pack <dir> <out> <gzip|zstd> <lvl> pack + compress a directory to a file
//   apply <layer> <dest> <gzip|zstd>   apply a compressed layer onto a directory (on a worker thread, as pierd)
//   layout <layer.tar.gz> <layoutdir>  an OCI layout (tag "t") holding that one gzip layer, for umoci
//   report <results.tsv>              medians and ratios table
import { createReadStream, createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";

const build = resolve(process.env.PIER_BUILD ?? ".build/bench-layers");
const lib = (p) => import(pathToFileURL(`${build}/${p}`).href);

const [cmd, ...args] = process.argv.slice(2);

/** xorshift32: deterministic content without depending on Math.random. */
function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** A pool of text made of pseudo-random words: compresses about 3:1, like source code or configs. */
function textPool(size, seed) {
  const next = prng(seed);
  const words = [];
  for (let i = 0; i < 4096; i++) {
    const len = 2 + (next() % 10);
    let w = "";
    for (let j = 0; j < len; j++) w += String.fromCharCode(97 + (next() % 26));
    words.push(w);
  }
  const out = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const w = words[next() % words.length];
    off += out.write(next() % 12 === 0 ? `${w}\n` : `${w} `, off);
  }
  return out;
}

async function gen(dir) {
  const pool = textPool(16 << 20, 42);
  const next = prng(7);
  mkdirSync(dir, { recursive: true });
  let total = 0;
  for (let d = 0; d < 200; d++) {
    const sub = `${dir}/d${String(d).padStart(3, "0")}/s${d % 7}`;
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 100; f++) {
      const size = 512 + (next() % 19000);
      const start = next() % (pool.length - size);
      writeFileSync(`${sub}/f${String(f).padStart(3, "0")}.txt`, pool.subarray(start, start + size));
      total += size;
    }
  }
  mkdirSync(`${dir}/large`, { recursive: true });
  for (let i = 0; i < 6; i++) {
    const parts = [];
    for (let k = 0; k < 3; k++) {
      const start = next() % (8 << 20);
      parts.push(pool.subarray(start, start + (8 << 20)));
    }
    const chunk = Buffer.concat(parts);
    const fd = createWriteStream(`${dir}/large/blob${i}.dat`);
    for (let k = 0; k < 2; k++) fd.write(chunk);
    await new Promise((r) => fd.end(r));
    total += chunk.length * 2;
  }
  console.log(`generated ${(total / 1e6).toFixed(0)} MB`);
}

async function pack(dir, out, compression, level) {
  const { packDirectory } = await lib("layer/pack.js");
  const { compressor } = await lib("layer/compression.js");
  await pipeline(
    await packDirectory(dir),
    compressor(compression, { level: Number(level) }),
    createWriteStream(out),
  );
}

// As pierd applies layers: on a worker thread that reads the blob itself.
async function apply(layer, dest, compression) {
  const { applyLayerFile } = await lib("layer/apply-thread.js");
  mkdirSync(dest, { recursive: true });
  await applyLayerFile(dest, layer, { compression });
}

async function layout(layer, dir) {
  const { LocalContentStore } = await lib("content/local-store.js");
  const { OciLayout } = await lib("content/layout.js");
  const { decompress } = await lib("layer/compression.js");
  const { DigestStream } = await lib("oci/digest.js");
  const store = await LocalContentStore.open(dir);
  const diff = new DigestStream();
  await pipeline(decompress(createReadStream(layer), "gzip"), diff, async (s) => {
    for await (const _ of s);
  });
  const info = await store.ingest(createReadStream(layer));
  const cfg = { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [diff.digest()] } };
  const config = {
    mediaType: "application/vnd.oci.image.config.v1+json",
    ...(await store.ingest(JSON.stringify(cfg))),
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config,
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...info }],
  };
  const desc = { mediaType: manifest.mediaType, ...(await store.ingest(JSON.stringify(manifest))) };
  await (await OciLayout.open(dir)).set("t", desc);
}

function report(file) {
  const rows = readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split("\t"));
  // task -> tool -> round -> { wall, cpu }
  const byTask = new Map();
  for (const [task, tool, wall, cpu, round] of rows) {
    if (!byTask.has(task)) byTask.set(task, new Map());
    const t = byTask.get(task);
    if (!t.has(tool)) t.set(tool, new Map());
    t.get(tool).set(round, { wall: Number(wall), cpu: Number(cpu) });
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const range = (xs, d) => `${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)}`;
  const table = [
    [
      "task",
      "tool",
      "wall s [range]",
      "cpu s [range]",
      "pier/tool wall",
      "per round [range]",
      "pier/tool cpu",
    ],
  ];
  for (const [task, tools] of byTask) {
    const pier = tools.get("pier");
    for (const [tool, runs] of tools) {
      const wall = [...runs.values()].map((r) => r.wall);
      const cpu = [...runs.values()].map((r) => r.cpu);
      const row = [
        task,
        tool,
        `${median(wall).toFixed(2)} [${range(wall, 2)}]`,
        `${median(cpu).toFixed(2)} [${range(cpu, 2)}]`,
      ];
      if (tool === "pier" || !pier) row.push("", "", "");
      else {
        const pw = [...pier.values()].map((r) => r.wall);
        const pc = [...pier.values()].map((r) => r.cpu);
        const paired = [...runs]
          .filter(([round]) => pier.has(round))
          .map(([round, r]) => pier.get(round).wall / r.wall);
        row.push(
          (median(pw) / median(wall)).toFixed(2),
          `${median(paired).toFixed(2)} [${range(paired, 2)}]`,
          (median(pc) / median(cpu)).toFixed(2),
        );
      }
      table.push(row);
    }
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join("  "));
}

const commands = { gen, pack, apply, layout, report };
if (!commands[cmd]) {
  console.error(`usage: driver.mjs ${Object.keys(commands).join("|")} ...`);
  process.exit(2);
}
await commands[cmd](...args);
