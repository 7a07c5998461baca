// Opens a local HTML file in Debian's headless Chromium and checks that it renders:
// no console error, no uncaught exception, no request that leaves the file system,
// and as many rendered charts as the document holds. Keeps a full-page screenshot.
//
//   node check_page.mjs <page.html> <screenshot.png> <min-charts> [chart-selector]
//
// puppeteer-core comes with the slides' tool chain (slides/node_modules, installed by
// scripts/setup.sh); the browser is Debian's (CHROME_PATH, default /usr/bin/chromium).
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const [page_file, shot, min_charts_arg, selector = 'figure.chart svg'] = process.argv.slice(2);
if (!page_file || !shot || !min_charts_arg) {
  console.error('usage: node check_page.mjs <page.html> <screenshot.png> <min-charts> [chart-selector]');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let puppeteer;
try {
  puppeteer = createRequire(path.join(root, 'slides', 'package.json'))('puppeteer-core');
} catch (e) {
  console.error(`puppeteer-core is not installed in ${root}/slides/node_modules: run scripts/setup.sh`);
  process.exit(2);
}

const problems = [];
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith('file:') && !u.startsWith('data:') && !u.startsWith('about:')) problems.push(`not offline: ${u}`);
  });
  await page.goto(pathToFileURL(path.resolve(page_file)).href, { waitUntil: 'load' });
  // Charts that the browser really drew: an svg element with a size and a drawn line.
  const charts = await page.$$eval(selector, (els) => els.map((e) => {
    const box = e.getBoundingClientRect();
    const lines = e.querySelectorAll('polyline').length;
    return { w: box.width, h: box.height, lines };
  }));
  const drawn = charts.filter((c) => c.w > 100 && c.h > 50 && c.lines > 0).length;
  const in_source = (fs.readFileSync(page_file, 'utf8').match(/<figure class="chart"/g) || []).length;
  if (drawn !== charts.length) problems.push(`${charts.length - drawn} of ${charts.length} charts did not render`);
  if (charts.length < Number(min_charts_arg)) problems.push(`${charts.length} charts, expected at least ${min_charts_arg}`);
  if (selector === 'figure.chart svg' && charts.length !== in_source)
    problems.push(`the document holds ${in_source} charts, the browser shows ${charts.length}`);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`rendered ${drawn} charts; screenshot ${shot}`);
} finally {
  await browser.close();
}
for (const p of problems) console.error(p);
process.exit(problems.length ? 1 : 0);
