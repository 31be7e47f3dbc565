/**
 * `npm run model:export-backbone [-- options]`: converts the nsfwjs MobileNetV2 graph model the project
 * already uses (node_modules/nsfwjs) into ONNX for ONNX Runtime, reproducibly.
 *
 *   --out-dir models/backbone     where <id>.onnx and export-report.json go
 *   --int8                        also write <id>.int8.onnx, statically quantised, calibrated on:
 *   --calibration DIR             a folder of images (read now, never copied), e.g. ../shared/data/emotion6/images
 *   --calibration-count 200       images taken from it (evenly spread over its sorted file list)
 *   --python python3              the interpreter that makes the virtual environment (3.9–3.12)
 *
 * The Python side runs in a project-local virtual environment (.venv-model-export/, git-ignored) with the
 * pinned versions of scripts/model-export/requirements*.txt, reinstalled when those files change. Bytes of
 * the .onnx differ between runs although outputs are bit-identical, so the export is pinned by its check
 * against TensorFlow (export-report.json), not by hash alone.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLineOrExit } from '@moodstream/core';
import { BACKBONE_IDS, BACKBONE_MODEL_DIR, preprocessImage, writeNsfwModelFolder, type BackboneId } from '@moodstream/model';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const VENV = path.join(ROOT, '.venv-model-export');
const REQUIREMENTS = path.join(HERE, 'requirements.txt');
const REQUIREMENTS_NO_DEPS = path.join(HERE, 'requirements-no-deps.txt');

const { values: args } = parseCommandLineOrExit({
  command: 'npm run model:export-backbone',
  summary: 'convert the nsfwjs MobileNetV2 graph model into ONNX for ONNX Runtime, reproducibly (checked against TensorFlow in export-report.json)',
  options: {
    id: { type: 'string', valueName: 'ID', default: 'mobilenet_v2_mid', description: `backbone to export (one of ${BACKBONE_IDS.join(', ')})` },
    'out-dir': { type: 'string', valueName: 'DIR', default: BACKBONE_MODEL_DIR, description: 'where <id>.onnx and export-report.json go' },
    int8: { type: 'boolean', default: false, description: 'also write <id>.int8.onnx, statically quantised (needs --calibration)' },
    calibration: { type: 'string', valueName: 'DIR', description: 'images to calibrate the int8 model on (read now, never copied), e.g. ../shared/data/emotion6/images' },
    'calibration-count': { type: 'number', default: 200, integer: true, positive: true, description: 'images taken from --calibration (evenly spread over its sorted file list)' },
    python: { type: 'string', valueName: 'EXE', default: 'python3', description: 'the interpreter that makes the virtual environment (3.9–3.12)' },
  },
  notes: 'The Python side runs in .venv-model-export/ (git-ignored) with the pinned versions of scripts/model-export/requirements*.txt, reinstalled when those files change.',
});

const log = (message: string): void => void process.stderr.write(`[export-backbone] ${message}\n`);

function run(command: string, argv: string[], options: { capture?: boolean } = {}): string {
  const result = spawnSync(command, argv, { cwd: ROOT, stdio: options.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${argv.join(' ')} exited with ${result.status}`);
  return result.stdout ?? '';
}

/** Creates the virtual environment, or reinstalls it when the pinned requirements changed. */
function ensureVenv(): string {
  const python = path.join(VENV, 'bin', 'python');
  const stamp = path.join(VENV, 'requirements.sha256');
  const wanted = createHash('sha256').update(readFileSync(REQUIREMENTS)).update(readFileSync(REQUIREMENTS_NO_DEPS)).digest('hex');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === wanted) return python;
  if (!existsSync(python)) {
    log(`creating ${path.relative(ROOT, VENV)} with ${args.python}`);
    run(args.python!, ['-m', 'venv', VENV]);
  }
  log('installing the pinned Python packages (a few minutes the first time)');
  const pip = ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet'];
  run(python, [...pip, '-r', REQUIREMENTS]);
  run(python, [...pip, '--no-deps', '-r', REQUIREMENTS_NO_DEPS]);
  run('sh', ['-c', `echo ${wanted} > '${stamp}'`]);
  return python;
}

async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listImages(full)));
    else if (/\.(jpe?g|png|webp)$/i.test(entry.name)) out.push(full);
  }
  return out.sort();
}

/** Calibration pixels through the project's own preprocessing, as one raw uint8 file (n×size×size×3). */
async function writeCalibration(dir: string, count: number, size: number, file: string): Promise<number> {
  const all = await listImages(dir);
  if (all.length === 0) throw new Error(`no images under ${dir}`);
  const step = Math.max(1, Math.floor(all.length / count));
  const chosen = all.filter((_, i) => i % step === 0).slice(0, count);
  const pixels: Uint8Array[] = [];
  for (const image of chosen) {
    try {
      pixels.push(await preprocessImage(await readFile(image), size));
    } catch (error) {
      log(`skipping ${image}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  await writeFile(file, Buffer.concat(pixels.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
  return pixels.length;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

async function main(): Promise<void> {
  const id = args.id as BackboneId;
  if (!BACKBONE_IDS.includes(id)) throw new Error(`--id must be one of ${BACKBONE_IDS.join(', ')}`);
  if (id !== 'mobilenet_v2_mid') throw new Error('only the graph model mobilenet_v2_mid is exported (the layers models are not used by the shipped model)');
  if (args.int8 && args.calibration === undefined) throw new Error('--int8 needs --calibration DIR (e.g. ../shared/data/emotion6/images)');
  const outDir = path.resolve(args['out-dir']!);
  const python = ensureVenv();
  const work = await mkdtemp(path.join(tmpdir(), 'moodstream-backbone-'));
  try {
    const graphDir = path.join(work, 'graph-model');
    await writeNsfwModelFolder(id, graphDir);
    const floatFile = path.join(work, `${id}.onnx`);
    const int8File = path.join(work, `${id}.int8.onnx`);
    const pyArgs = [path.join(HERE, 'convert_backbone.py'), '--graph-model', graphDir, '--out', floatFile];
    if (args.int8) {
      const calibration = path.join(work, 'calibration.u8');
      const n = await writeCalibration(path.resolve(args.calibration!), args['calibration-count'], 224, calibration);
      log(`calibration: ${n} images from ${args.calibration}`);
      pyArgs.push('--int8-out', int8File, '--calibration', calibration);
    }
    log('converting (tfjs-graph-converter → tf2onnx, opset 17) and checking against TensorFlow');
    const stdout = run(python, pyArgs, { capture: true });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { ok: boolean; float: { path: string }; int8?: { path: string } };
    if (!report.ok) throw new Error(`the ONNX model does not match TensorFlow: ${JSON.stringify(report)}`);
    await mkdir(outDir, { recursive: true });
    const files: Record<string, { bytes: number; sha256: string }> = {};
    for (const [from, name] of [[floatFile, `${id}.onnx`], ...(args.int8 ? [[int8File, `${id}.int8.onnx`]] : [])] as [string, string][]) {
      await copyFile(from, path.join(outDir, name));
      files[name] = { bytes: (await stat(from)).size, sha256: await sha256(from) };
    }
    const nsfwjs = JSON.parse(await readFile(path.join(ROOT, 'node_modules', 'nsfwjs', 'package.json'), 'utf8')) as { version: string; license: string };
    const { float, int8, ...rest } = report as unknown as Record<string, unknown> & { float: Record<string, unknown>; int8?: Record<string, unknown> };
    const stripPath = (r: Record<string, unknown> | undefined): Record<string, unknown> | undefined => (r === undefined ? undefined : Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'path')));
    const written = {
      generatedAt: new Date().toISOString(),
      source: { package: 'nsfwjs', version: nsfwjs.version, license: nsfwjs.license, model: id },
      ...rest,
      float: stripPath(float),
      ...(int8 ? { int8: stripPath(int8) } : {}),
      files,
    };
    await writeFile(path.join(outDir, 'export-report.json'), JSON.stringify(written, null, 2) + '\n');
    log(`wrote ${Object.entries(files).map(([n, f]) => `${n} (${(f.bytes / 2 ** 20).toFixed(1)} MB)`).join(', ')} to ${path.relative(ROOT, outDir) || outDir}`);
    console.log(JSON.stringify(written, null, 2));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
