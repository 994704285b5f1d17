// Context generator of bench/build/run.sh: a deterministic tree of 5,000 small text files in
// 50 directories (512 B to 4 KiB each) plus the Dockerfile, in the directory given.
//   node gen.mjs <dir> <base image>
import { mkdirSync, writeFileSync } from "node:fs";

const [dir, base] = process.argv.slice(2);
if (!dir || !base) {
  console.error("usage: node gen.mjs <dir> <base image>");
  process.exit(2);
}
let x = 42;
const next = () => {
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  x >>>= 0;
  return x;
};
for (let d = 0; d < 50; d++) {
  const sub = `${dir}/src/d${String(d).padStart(2, "0")}`;
  mkdirSync(sub, { recursive: true });
  for (let f = 0; f < 100; f++) {
    const size = 512 + (next() % 3584);
    let s = "";
    while (s.length < size) s += `${next().toString(36)} `;
    writeFileSync(`${sub}/f${String(f).padStart(3, "0")}.txt`, s.slice(0, size));
  }
}
writeFileSync(
  `${dir}/Dockerfile`,
  [
    `FROM ${base} AS build`,
    "WORKDIR /work",
    "COPY src/ ./src/",
    "RUN find src -type f | wc -l > /count && cat src/d00/*.txt | md5sum > /sum",
    `FROM ${base}`,
    "COPY --from=build /work/src /app",
    "COPY --from=build /count /sum /",
    "RUN ls -R /app | wc -l > /app.list",
    'CMD ["cat", "/app.list"]',
    "",
  ].join("\n"),
);
console.log(`context in ${dir}: 5,000 files`);
