#!/usr/bin/env node
// Round-trip BPMN and DMN files through bpmn-moddle and dmn-moddle, the parsers that
// bpmn-js / dmn-js (bpmn.io, Camunda Modeler) use: read each file (fromXML), collect the
// import warnings (e.g. "unresolved reference <persons>"), write it back (toXML) the way
// a modeler saves it, and print one JSON report for all files.
//
//   node roundtrip.mjs --out DIR FILE...     write each result to DIR/<file name>
//   node roundtrip.mjs --out DIR --relative-to ROOT FILE...
//                                            write each to DIR/<its path below ROOT>, e.g.
//                                            processes/x.bpmn and rules/y.dmn into one tree
//   node roundtrip.mjs --in-place FILE...    overwrite each file with its round-tripped text
//                                            (as a modeler's save: XML comments are lost)
//   node roundtrip.mjs FILE...               only report (nothing is written)
//
// The report (stdout): {"files": [{"file", "kind", "warnings": [..], "error", "output"}]}.
// The exit status is 0 when every file was read and written, whatever the warnings; 1 when
// a file could not be read or written (its "error" says why); 2 on bad arguments.

import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';

import { BpmnModdle } from 'bpmn-moddle';
import { DmnModdle } from 'dmn-moddle';

function usage(message) {
  process.stderr.write(`${message}\nusage: node roundtrip.mjs [--out DIR [--relative-to ROOT] | --in-place] FILE...\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { out: null, relativeTo: null, inPlace: false, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out') {
      options.out = argv[++i];
      if (!options.out) usage('--out needs a directory');
    } else if (arg === '--relative-to') {
      options.relativeTo = argv[++i];
      if (!options.relativeTo) usage('--relative-to needs a directory');
    } else if (arg === '--in-place') {
      options.inPlace = true;
    } else if (arg.startsWith('--')) {
      usage(`unknown option ${arg}`);
    } else {
      options.files.push(arg);
    }
  }
  if (options.out && options.inPlace) usage('--out and --in-place exclude each other');
  if (options.relativeTo && !options.out) usage('--relative-to needs --out');
  if (!options.files.length) usage('no files given');
  return options;
}

function describeWarning(warning) {
  // moddle-xml warnings: {message, element, property, value, error}; keep what is printable.
  const result = { message: String(warning.message || warning) };
  if (warning.element && warning.element.id) result.element = warning.element.id;
  if (warning.property) result.property = String(warning.property);
  if (warning.value !== undefined && typeof warning.value !== 'object') {
    result.value = String(warning.value);
  }
  return result;
}

function moddleFor(file) {
  const ext = extname(file).toLowerCase();
  if (ext === '.bpmn') return { kind: 'bpmn', moddle: new BpmnModdle(), root: 'bpmn:Definitions' };
  if (ext === '.dmn') return { kind: 'dmn', moddle: new DmnModdle(), root: 'dmn:Definitions' };
  return null;
}

async function roundTrip(file, options) {
  const entry = { file, kind: null, warnings: [], error: null, output: null };
  const chosen = moddleFor(file);
  if (!chosen) {
    entry.error = 'not a .bpmn or .dmn file';
    return entry;
  }
  entry.kind = chosen.kind;
  try {
    const xml = await readFile(file, 'utf8');
    const { rootElement, warnings } = await chosen.moddle.fromXML(xml, chosen.root);
    entry.warnings = (warnings || []).map(describeWarning);
    // bpmn-js and dmn-js save with format: true.
    const { xml: saved } = await chosen.moddle.toXML(rootElement, { format: true });
    let target = null;
    if (options.inPlace) target = file;
    else if (options.out && options.relativeTo) {
      const below = relative(options.relativeTo, file);
      if (below.startsWith('..')) throw new Error(`not below ${options.relativeTo}`);
      target = join(options.out, below);
    } else if (options.out) target = join(options.out, basename(file));
    if (target) {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, saved.endsWith('\n') ? saved : `${saved}\n`, 'utf8');
      entry.output = target;
    }
  } catch (err) {
    entry.error = String((err && err.message) || err);
    if (err && err.warnings) entry.warnings = err.warnings.map(describeWarning);
  }
  return entry;
}

const options = parseArgs(process.argv.slice(2));
if (options.out) await mkdir(options.out, { recursive: true });
const files = [];
for (const file of options.files) files.push(await roundTrip(file, options));
process.stdout.write(`${JSON.stringify({ files }, null, 2)}\n`);
process.exit(files.some((f) => f.error) ? 1 : 0);
