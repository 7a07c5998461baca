#!/usr/bin/env node
// Writes the deck's Markdown (OUT/deck.md) from the hand-written sections in slides/src/,
// the lab folders (lab.json, README.md, the leaky files and the diff to the solution) and
// the measurements of this build (OUT/runs/NN.json from `leaklab compare`, OUT/runs/probe-*.json
// from `leaklab probe`). Charts are inlined as data: URIs, so the HTML is one file.
// Every number on a slide comes from those JSON files; nothing is typed in.
//
//   node build-deck.mjs --root DIR --out DIR --labs 01,05,22
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const root = path.resolve(args.root ?? '.');
const out = path.resolve(args.out ?? path.join(root, 'slides/build'));
const slides = path.join(root, 'slides');
const runs = path.join(out, 'runs');
const charts = path.join(out, 'charts');

const die = (msg) => { console.error(`build-deck: ${msg}`); process.exit(2); };
const readJson = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));

// ---- the labs ------------------------------------------------------------------------------
const labDirs = fs.readdirSync(path.join(root, 'labs')).filter((d) => /^\d\d-/.test(d)).sort();
const wanted = args.labs ? args.labs.split(',').map((s) => s.trim().padStart(2, '0')) : labDirs.map((d) => d.slice(0, 2));
for (const id of wanted)
  if (!labDirs.some((d) => d.startsWith(id + '-'))) die(`no lab ${id} in ${root}/labs`);
const deckConf = readJson(path.join(slides, 'labs.json'));
const toolConf = readJson(path.join(slides, 'tools.json'));

const labs = wanted.map((id) => {
  const dir = labDirs.find((d) => d.startsWith(id + '-'));
  // The lab's manifest, with what names the defect and the fix from solutions/NN-slug/instructor.json.
  const instructor = path.join(root, 'solutions', dir, 'instructor.json');
  const manifest = { ...readJson(path.join(root, 'labs', dir, 'lab.json')),
                     ...(fs.existsSync(instructor) ? readJson(instructor) : {}) };
  const runFile = path.join(runs, `${id}.json`);
  if (!fs.existsSync(runFile)) die(`${runFile} is missing: run scripts/build-slides.sh without --no-run first`);
  return { id, dir, manifest, readme: fs.readFileSync(path.join(root, 'labs', dir, 'README.md'), 'utf8'),
           run: readJson(runFile), conf: deckConf[id] ?? {} };
});
const byId = Object.fromEntries(labs.map((l) => [l.id, l]));

// ---- formatting ----------------------------------------------------------------------------
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const oneLine = (s) => s.replace(/\s*\n\s*/g, ' ').trim();
function fmtBytes(v) {
  const a = Math.abs(v);
  if (a >= 1024 * 1024) return `${(v / 1024 / 1024).toFixed(1)} MiB`;
  if (a >= 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${Math.round(v)} B`;
}
function fmtCount(v) {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(+v.toPrecision(3));
}
// failed_ops is a rate per round (unit "rate"): a fraction shown as a percentage, its slope per round.
const fmtRate = (v) => `${+(v * 100).toPrecision(3)}%`;
const fmtValue = (v, unit) => (unit === 'bytes' ? fmtBytes(v) : unit === 'rate' ? fmtRate(v) : fmtCount(v));
const fmtSlope = (v, unit) =>
  unit === 'rate' ? `${fmtRate(v)}/round` : v === 0 ? '0/op' : unit === 'bytes' ? `${fmtBytes(v)}/op` : `${+v.toPrecision(3)}/op`;
const fmtSecs = (s) => `${s.toFixed(1)} s`;
const metric = (result, name) => result.metrics.find((m) => m.name === name);
const verdictSpan = (v) => `<span class="${v === 'leak' ? 'leak' : v === 'clean' ? 'clean' : ''}">${v.toUpperCase()}</span>`;
const notes = (...parts) => `<!--\n${parts.filter(Boolean).join('\n\n').replace(/--+>/g, '->')}\n-->`;

function chartImg(id, name) {
  const f = path.join(charts, id, `${name}.svg`);
  if (!fs.existsSync(f)) die(`chart ${f} is missing (lab ${id} has no metric "${name}"?)`);
  return `<img src="data:image/svg+xml;base64,${fs.readFileSync(f).toString('base64')}" alt="lab ${id}: ${name}">`;
}

// Placeholders in the hand-written sections: {{NN.variant.metric.field}}, field one of
// baseline, final, slope, threshold, p; or {{NN.variant.verdict}}, {{NN.variant.ops}}, {{NN.variant.seconds}};
// {{probe.NAME.metric.field}} for the probe runs.
const probes = {};
if (fs.existsSync(runs))
  for (const f of fs.readdirSync(runs).filter((f) => /^probe-.*\.json$/.test(f)))
    probes[f.slice(6, -5)] = readJson(path.join(runs, f));
function fill(text, where) {
  return text.replace(/\{\{([^}]+)\}\}/g, (_, key) => {
    const [a, b, c, d] = key.split('.');
    const result = a === 'probe' ? probes[b] : byId[a]?.run[b];
    if (!result) die(`${where}: {{${key}}} needs a run that this build did not make`);
    if (c === 'verdict') return result.verdict.toUpperCase();
    if (c === 'ops') return fmtCount(result.ops_total);
    if (c === 'seconds') return fmtSecs(result.duration_s);
    const m = metric(result, c);
    if (!m) die(`${where}: {{${key}}}: no metric ${c}`);
    switch (d) {
      case 'baseline': return fmtValue(m.baseline, m.unit);
      case 'final': return fmtValue(m.final, m.unit);
      case 'slope': return fmtSlope(m.slope_per_op, m.unit);
      case 'threshold': return fmtSlope(m.threshold_per_op, m.unit);
      case 'p': return m.p_value < 0.0001 ? '< 0.0001' : String(+m.p_value.toPrecision(2));
      case 'reason': return m.reason;
      default: die(`${where}: {{${key}}}: unknown field ${d}`);
    }
  });
}

// ---- the slides of one lab ---------------------------------------------------------------
function paragraphs(md) { return md.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean); }

function symptom(lab) {
  // The README's story paragraph: what the service is, then what its operators see.
  const paras = paragraphs(lab.readme).filter((p) => !p.startsWith('#'));
  const story = oneLine(paras.find((p) => /operators' report/i.test(p)) ?? paras[0]);
  const at = story.search(/The operators' report:/i);
  return at < 0 ? { context: '', report: story } : { context: story.slice(0, at).trim(), report: story.slice(at).trim() };
}

function excerpt(lab, spec) {
  const file = path.join(root, 'labs', lab.dir, spec.file);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes(spec.from));
  if (at < 0) die(`lab ${lab.id}: "${spec.from}" is not in ${spec.file} any more (slides/labs.json)`);
  const chunk = lines.slice(at, at + spec.lines);
  const indent = Math.min(...chunk.filter((l) => l.trim()).map((l) => l.match(/^ */)[0].length));
  return { file: spec.file, line: at + 1, text: chunk.map((l) => l.slice(indent)).join('\n') };
}

function fixDiff(lab) {
  let text = '';
  try {
    text = execFileSync('diff', ['-ru', '-U2', '-x', '*.md', '-x', 'lab.json', '-x', 'CMakeLists.txt',
      `labs/${lab.dir}`, `solutions/${lab.dir}`], { cwd: root, encoding: 'utf8' });
  } catch (e) {
    if (e.status !== 1) throw e;
    text = e.stdout;
  }
  // Hunks, with the file each belongs to; hunks that only add #include lines are left out.
  const hunks = [];
  let file = null, cur = null, omitted = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('diff ') || line.startsWith('Only in ')) { cur = null; continue; }
    if (line.startsWith('--- ')) continue;
    if (line.startsWith('+++ ')) { file = line.slice(4).split('\t')[0]; continue; }
    if (line.startsWith('@@')) { cur = { file, head: line, lines: [] }; hunks.push(cur); continue; }
    if (cur && line !== '') cur.lines.push(line);
  }
  const kept = hunks.filter((h) => {
    const changed = h.lines.filter((l) => /^[-+]/.test(l));
    const onlyIncludes = changed.every((l) => /^[-+]\s*(#include|$)/.test(l));
    if (onlyIncludes) omitted++;
    return !onlyIncludes;
  });
  // Pages of at most 28 lines (a longer hunk gets a page of its own).
  const pages = [];
  let page = [];
  const where = (h) => h.file.replace(/^solutions\//, '');
  for (const h of kept) {
    // A hunk longer than a page is cut into pages of its own, each with the hunk's header.
    for (let i = 0; i < h.lines.length; i += 26) {
      const block = [`${h.head}  ${where(h)}${i ? ' (continued)' : ''}`, ...h.lines.slice(i, i + 26)];
      if (page.length && page.length + block.length > 28) { pages.push(page); page = []; }
      page.push(...block);
    }
  }
  if (page.length) pages.push(page);
  return { pages, hunks: hunks.length, omitted };
}

function labSlides(lab) {
  const { id, manifest: m, run } = lab;
  const L = run.leaky, F = run.fixed;
  const hints = m.hints ?? [];
  const s = [];
  const title = `Lab ${id} · ${m.title}`;
  // A control lab (both variants clean) has no defect: its slides say "the code" and "the change".
  const control = m.expect?.leaky?.verdict === 'clean';

  // 1. The symptom (no spoiler: the diagnosis comes later)
  const sym = symptom(lab);
  s.push([
    `# ${title}`,
    sym.context ? `<div class="context">\n\n${sym.context}\n\n</div>` : '',
    `> ${sym.report}`,
    `<p class="src">labs/${lab.dir}/ · try it: <code>leaklab check ${id} --variant leaky</code></p>`,
    notes(`Symptom first, no spoiler. Read the operators' report aloud and ask the room which number they would watch first.`,
      hints[0] ? `First hint, if the room is stuck: ${hints[0]}` : ''),
  ].filter(Boolean).join('\n\n'));

  // 2. The evidence: charts and the measured slopes of this build's run
  const chosen = lab.conf.charts ?? (m.expect.leaky.flagged ?? []).slice(0, 2);
  const names = [...new Set([...chosen, ...L.metrics.filter((x) => x.flagged).map((x) => x.name)])];
  const rows = names.map((n) => {
    const a = metric(L, n), b = metric(F, n);
    if (!a || !b) return null;
    return `| \`${n}\` | ${fmtValue(a.baseline, a.unit)} → ${fmtValue(a.final, a.unit)} | ${fmtSlope(a.slope_per_op, a.unit)}${a.flagged ? ' **GROWS**' : ''} | ${fmtValue(b.baseline, b.unit)} → ${fmtValue(b.final, b.unit)} | ${fmtSlope(b.slope_per_op, b.unit)}${b.flagged ? ' **GROWS**' : ''} | ${fmtSlope(a.threshold_per_op, a.unit)} |`;
  }).filter(Boolean).slice(0, 5);
  s.push([
    `# Lab ${id} · what leaklab measured`,
    `<div class="charts">${chosen.map((n) => chartImg(id, n)).join('')}</div>`,
    `| metric | leaky: baseline → final | leaky slope | fixed: baseline → final | fixed slope | threshold |\n|---|---|---|---|---|---|\n${rows.join('\n')}`,
    `<p class="verdict">${esc(L.workload)}, ${L.ops_total === F.ops_total ? `${fmtCount(L.ops_total)} operations per variant` : `${fmtCount(L.ops_total)} operations leaky, ${fmtCount(F.ops_total)} fixed`} · leaky ${verdictSpan(L.verdict)} · fixed ${verdictSpan(F.verdict)} · <code>leaklab compare ${id}</code></p>`,
    notes(`${control ? 'Both variants of this control lab; the legend names them.' : 'The leaky and the fixed server, as the legend says.'} The x axis is operations (connections or requests), sampled after each round once the server is quiet. These are the numbers of the run this deck was built from.`,
      `Leaky: ${L.metrics.filter((x) => x.flagged).map((x) => `${x.name} ${x.reason}`).join('; ') || 'nothing flagged'}.`,
      `Fixed: ${F.verdict.toUpperCase()}${F.flagged?.length ? ` (${F.flagged.join(', ')})` : ''}. The leaky variant ran ${fmtCount(L.ops_total)} operations in ${fmtSecs(L.duration_s)}, the fixed one ${fmtCount(F.ops_total)} in ${fmtSecs(F.duration_s)}.${L.rounds_run < F.rounds_run ? ` The leaky run stopped after ${L.rounds_run} rounds: ${L.error || L.warnings?.[0] || 'see its report'}.` : ''}`,
      hints[0] && !control ? `Ask: which of these counts tells you what is kept alive? (${hints[0]})` : ''),
  ].join('\n\n'));

  // 3. The defect, in the lab's own code
  const parts = (lab.conf.defect ?? []).map((spec) => excerpt(lab, spec));
  if (parts.length) {
    const total = parts.reduce((n, p) => n + p.text.split('\n').length + 1, 0);
    const code = parts.map((p) => `// ${p.file}:${p.line}\n${p.text}`).join('\n\n');
    s.push([
      total > 22 ? '<!-- _class: tiny -->' : total > 16 ? '<!-- _class: small -->' : '',
      `# Lab ${id} · ${control ? 'the code (no defect: watch it be judged CLEAN)' : 'the defect'}`,
      '```cpp\n' + code + '\n```',
      `<p class="src">${esc(m.summary)}</p>`,
      notes(control ? 'A control lab: the code as shipped has no leak. Ask the room to find one anyway, then show the verdict.' : 'Spoiler from here on. The code is the leaky file as shipped.', hints.slice(1).join('\n\n')),
    ].filter(Boolean).join('\n\n'));
  }

  // 4. The fix: the real diff, page by page
  const diff = fixDiff(lab);
  diff.pages.forEach((page, i) => {
    const n = diff.pages.length > 1 ? ` (${i + 1}/${diff.pages.length})` : '';
    s.push([
      page.length > 18 ? '<!-- _class: tiny -->' : page.length > 12 ? '<!-- _class: small -->' : '',
      `# Lab ${id} · ${control ? 'the change: give the memory back' : 'the fix'}${n}`,
      '```diff\n' + page.join('\n') + '\n```',
      `<p class="src">diff -u labs/${lab.dir} solutions/${lab.dir}${diff.omitted ? ` · ${diff.omitted} hunk(s) that only add #include lines not shown` : ''}</p>`,
      notes(i === 0 ? `The whole fix is ${diff.hunks} hunk(s). Read the + lines as the guarantee the fix makes.` : 'The fix, continued.',
        i === 0 && hints.length ? `The last hint says it in words: ${hints[hints.length - 1]}` : ''),
    ].filter(Boolean).join('\n\n'));
  });

  // 5. The principle (lab.json), on up to three pages; a list is cut between its items
  const blocks = [];
  for (const para of m.principle ?? []) {
    for (const piece of para.split(/\n\s*\n/)) {
      const lines = piece.split('\n');
      if (!/^\s*([-*]|\d+\.)\s/.test(lines[0])) { blocks.push(oneLine(piece)); continue; }
      let item = null;
      for (const l of lines) {
        if (/^\s*([-*]|\d+\.)\s/.test(l)) { if (item) blocks.push(item); item = l.trim(); }
        else item += ' ' + l.trim();
      }
      if (item) blocks.push(item);
    }
  }
  const ppages = [];
  for (const b of blocks) {
    const last = ppages[ppages.length - 1];
    if (last && last.chars + b.length <= 900) { last.blocks.push(b); last.chars += b.length; }
    else ppages.push({ blocks: [b], chars: b.length });
  }
  const shownPages = ppages.slice(0, 3), rest = ppages.slice(3).flatMap((p) => p.blocks);
  shownPages.forEach((pp, i) => {
    const n = shownPages.length > 1 ? ` (${i + 1}/${shownPages.length})` : '';
    const last = i === shownPages.length - 1;
    s.push([
      pp.chars > 600 ? '<!-- _class: dense -->' : '',
      `# Lab ${id} · the principle${n}`,
      pp.blocks.join('\n\n'),
      last ? `<p class="src">${rest.length ? 'the rest is in the speaker notes, and in ' : ''}<code>leaklab explain ${id}</code></p>` : '',
      notes(i === 0 ? 'This is the text students get from `leaklab explain` (or the last `hint` level) once their copy is clean.' : 'The principle, continued.',
        last && rest.length ? rest.join('\n\n') : ''),
    ].filter(Boolean).join('\n\n'));
  });
  if (m.upstream?.length)
    s.push([
      m.upstream.length > 3 ? '<!-- _class: dense -->' : '',
      `# Lab ${id} · the same bug upstream`,
      m.upstream.map((u) => {
        const [ref, ...what] = u.split(': ');
        return `- **${ref}**: ${what.join(': ')}`;
      }).join('\n'),
      notes(`Real reports this lab mirrors (issue threads in public repositories). The point for the room: this is not a contrived bug; it shipped in real projects, and was found by its symptom, usually long after it shipped.`),
    ].filter(Boolean).join('\n\n'));
  return s;
}

// ---- the catch matrix --------------------------------------------------------------------
function cell(c) {
  if (!c) return '—';
  const word = c.sees === 'yes' ? '**reports**' : 'silent';
  return c.measured ? word : `<span class="claimed">${c.sees === 'yes' ? 'reports' : 'silent'} (claimed, not yet measured)</span>`;
}
function matrixSlides() {
  const rows = labs.map((lab) => {
    const t = toolConf.labs[lab.id] ?? {};
    const L = lab.run.leaky, F = lab.run.fixed;
    const growth = `${verdictSpan(L.verdict)} / ${verdictSpan(F.verdict)}${L.flagged?.length ? ` <small>(${L.flagged.slice(0, 3).join(', ')}${L.flagged.length > 3 ? ', …' : ''})</small>` : ''}`;
    const other = t.other ? `${t.other.tool}: ${cell(t.other)}` : '—';
    return { id: lab.id, line: `| ${lab.id} ${esc(lab.manifest.diagnosis)} | ${growth} | ${cell(t.lsan)} | ${cell(t.memcheck)} | ${other} | ${esc(t.catalog ?? '')} |`, t };
  });
  const chunks = [];
  for (let i = 0; i < rows.length; i += 10) chunks.push(rows.slice(i, i + 10));
  return chunks.map((chunk, i) => [
    '<!-- _class: matrix -->',
    `# What each tool sees${chunks.length > 1 ? ` (${i + 1}/${chunks.length})` : ''}`,
    `| lab | leaklab growth, leaky / fixed (this build) | LSan at exit | memcheck at exit | other | the catalog says |\n|---|---|---|---|---|---|\n${chunk.map((r) => r.line).join('\n')}`,
    `<p class="src">Growth: this deck's own runs. Exit tools: the runs written up in each lab's README ("What the tools see"); grey = claimed, not yet measured.</p>`,
    notes(`Row by row, what was measured: ${chunk.map((r) => `${r.id}: LSan ${r.t.lsan?.note || '-'}; memcheck ${r.t.memcheck?.note || '-'}${r.t.other ? `; ${r.t.other.tool} ${r.t.other.note}` : ''}`).join('. ')}.`,
      'The pattern: exit-time tools see memory nothing points to (labs 05, 06, 17). Anything still reachable at exit, or released when the io_context is destroyed, is invisible to them: that is most of the kit.'),
  ].join('\n\n'));
}

// ---- the probe results -----------------------------------------------------------------
function probeTable() {
  const names = Object.keys(probes).sort();
  if (!names.length) return '<p class="claimed">(no probe run in this build: hoard_http was not built)</p>';
  const metrics = ['heap_bytes', 'rss_bytes', 'threads', 'fds'];
  const head = `| server | verdict | ${metrics.map((m) => `\`${m}\` slope`).join(' | ')} | operations |\n|---|---|${metrics.map(() => '---|').join('')}---|`;
  const body = names.map((n) => {
    const r = probes[n];
    const [bin, , ...rest] = (r.command ?? n).split(' ');
    return `| \`${esc([bin.replace(/^.*\//, ''), '{port}', ...rest].join(' '))}\` | ${verdictSpan(r.verdict)} | ${metrics.map((m) => {
      const x = metric(r, m);
      return x ? `${fmtSlope(x.slope_per_op, x.unit)}${x.flagged ? ' **GROWS**' : ''}` : '—';
    }).join(' | ')} | ${fmtCount(r.ops_total)} |`;
  });
  return `${head}\n${body.join('\n')}`;
}

// ---- assemble --------------------------------------------------------------------------
const srcDir = path.join(slides, 'src');
const src = (name) => fs.readFileSync(path.join(srcDir, name), 'utf8').trim();
function section(name) {
  // A hand-written file may say which labs it needs: <!-- requires: 22 -->
  const text = src(name);
  const req = text.match(/<!--\s*requires:\s*([\d, ]+)-->/);
  if (req && !req[1].split(',').map((x) => x.trim()).every((x) => byId[x])) return [];
  return text.replace(/<!--\s*requires:[^>]*-->\s*/g, '')
    .replace(/<!--\s*@catch-matrix\s*-->/, () => matrixSlides().join('\n\n---\n\n'))
    .replace(/<!--\s*@probe-table\s*-->/, () => probeTable())
    .split(/\n---\n/).map((x) => fill(x.trim(), name));
}

const slideList = [];
slideList.push(...section('00-title.md'), ...section('10-why.md'), ...section('20-go-to-cpp.md'), ...section('30-measuring.md'), ...section('31-reading-a-verdict.md'));
let lastSection = null;
for (const lab of labs.filter((l) => l.id !== '22')) {
  if (lab.manifest.section !== lastSection) {
    lastSection = lab.manifest.section;
    const inSection = labs.filter((l) => l.manifest.section === lastSection);
    slideList.push([
      '<!-- _class: divider -->', `# ${lastSection}`,
      inSection.map((l) => `- **${l.id}** ${esc(l.manifest.title)}`).join('\n'),
      notes(`Section ${lastSection}: ${inSection.length} lab(s). Each lab goes symptom, evidence, defect, fix, principle, upstream.`),
    ].join('\n\n'));
  }
  slideList.push(...labSlides(lab));
}
if (byId['22']) {
  slideList.push(...section('60-rss-is-not-a-diagnosis.md'));
  slideList.push(...labSlides(byId['22']));
}
slideList.push(...section('40-tools.md'), ...section('50-probe.md'), ...section('90-close.md'));

const front = ['---', 'marp: true', 'theme: leaklab', 'paginate: true', 'size: 16:9',
  'title: leaklab: leaks in long-running C++ servers', '---'].join('\n');
const deck = `${front}\n\n${slideList.join('\n\n---\n\n')}\n`;
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'deck.md'), deck);
const missingNotes = slideList.filter((x) => !/<!--[\s\S]*?-->/.test(x.replace(/<!--\s*_\w+:[^>]*-->/g, '')));
if (missingNotes.length) die(`${missingNotes.length} slide(s) without speaker notes, the first:\n${missingNotes[0].slice(0, 200)}`);
console.log(`build-deck: ${slideList.length} slides (${labs.length} labs) -> ${path.join(out, 'deck.md')}`);
fs.writeFileSync(path.join(out, 'slides.count'), `${slideList.length}\n`);
