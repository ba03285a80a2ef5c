// Copies the browser files the page serves from node_modules into addin/page/static/vendor/ (run: npm run vendor).
// The Python package then serves them without node; licences travel with them.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const out = join(here, "static", "vendor");
mkdirSync(out, { recursive: true });
const files = [
  ["node_modules/chart.js/dist/chart.umd.js", "chart.umd.js"],
  ["node_modules/chart.js/LICENSE.md", "chart.js-LICENSE.md"],
  ["node_modules/@kurkle/color/LICENSE.md", "kurkle-color-LICENSE.md"],
  ["node_modules/axe-core/axe.min.js", "axe.min.js"],
  ["node_modules/axe-core/LICENSE", "axe-core-LICENSE.txt"],
];
for (const [src, dst] of files) {
  copyFileSync(join(root, src), join(out, dst));
  console.log(`${src} -> addin/page/static/vendor/${dst}`);
}
