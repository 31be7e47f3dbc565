/**
 * Class visualisation (study 6.3): `npm run visualise -- --emotion scared --out scared.png [--steps N] [--seed N]`,
 * or `--emotion all --out-dir models/default/explain` for the six images the model page shows (plus
 * visualisations.json with each one's scores). Gradient ascent on the image through the image branch.
 * `--profile N [--emotion E]`: where a step's time goes (see profile below).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { EMOTIONS, type Emotion } from '@moodstream/events';
import { ConfigError, parseCommandLineOrExit } from '@moodstream/core';
import { initBackend } from '../backend';
import { EmotionModel } from '../emotion-model';
import { DEFAULT_MODEL_DIR } from '../paths';
import { DifferentiableBackbone } from '../explain/differentiable-backbone';
import { visualiseEmotion, type Visualisation } from '../explain/class-visualisation';
import { profileKernels } from '../explain/kernel-profile';
import { useFastWasmInputGradients } from '../explain/wasm-input-gradients';
import { VISUALISATIONS_FILE, type VisualisationRecord } from '../explain/explain-files';
import { ProgressBar } from '../train/progress';

const { values } = parseCommandLineOrExit({
  command: 'npm run visualise',
  summary: 'class visualisation (study 6.3): gradient ascent on an image through the image branch until it reads as one emotion',
  usage: ['--emotion E --out FILE.png [options]', '--emotion all --out-dir DIR [options]', '--profile N [--emotion E]'],
  options: {
    emotion: { type: 'string', valueName: 'E', description: 'the emotion to draw, or "all" for the six (with --out-dir); --profile uses scared when absent' },
    out: { type: 'string', valueName: 'FILE', description: 'the PNG to write (one emotion)' },
    'out-dir': { type: 'string', valueName: 'DIR', description: 'with --emotion all: the folder for the six PNGs and visualisations.json (e.g. models/default/explain)' },
    model: { type: 'string', valueName: 'DIR', default: DEFAULT_MODEL_DIR, description: 'the model folder' },
    steps: { type: 'number', default: 500, integer: true, positive: true, description: 'gradient ascent steps per image' },
    seed: { type: 'number', default: 1, description: 'seed of the starting noise' },
    'learning-rate': { type: 'number', default: 0.01, description: 'gradient ascent step size' },
    profile: { type: 'number', integer: true, positive: true, valueName: 'N', description: "instead of drawing: N steps with tfjs's gradients, then N with the fast ones, CPU time per kernel (bench/results/visualise-step.json)" },
    'snapshot-every': { type: 'number', default: 50, description: 'keep an intermediate image every N steps' },
  },
  notes: 'About 6 min of CPU per image at 500 steps on this machine.',
});
async function writePng(v: Visualisation, file: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await sharp(Buffer.from(v.pixels), { raw: { width: v.size, height: v.size, channels: 3 } }).png().toFile(file);
}

/**
 * `--profile N`: N steps of one emotion with tfjs's own gradient paths, then N with the fast ones, each kernel's CPU
 * time metered; prints a table and writes bench/results/visualise-step.json. CPU time, because on this shared
 * machine the wall time of a niced run says more about the neighbours than about the step.
 */
async function profile(model: EmotionModel, backbone: DifferentiableBackbone, backendName: string, steps: number): Promise<void> {
  const emotion = (values.emotion ?? 'scared') as Emotion;
  const variants: Array<{ name: string; fast: boolean }> = [{ name: 'tfjs kernels (baseline)', fast: false }, { name: 'fast input gradients', fast: true }];
  const rows = [];
  for (const variant of variants) {
    useFastWasmInputGradients(variant.fast);
    // One step first, outside the meter: it turns the filters and creates XNNPACK's operators.
    await visualiseEmotion(model, backbone, { emotion, steps: 1, seed: 1 });
    const started = Date.now();
    const load = loadavg()[0]!;
    const { cpuMs, kernels } = await profileKernels(backendName, async () => {
      await visualiseEmotion(model, backbone, { emotion, steps, seed: 1 });
    });
    rows.push({ variant: variant.name, steps, cpuMsPerStep: cpuMs / steps, wallMsPerStep: (Date.now() - started) / steps, loadAverage: load, kernels: kernels.map((k) => ({ ...k, calls: k.calls / steps, cpuMs: k.cpuMs / steps })) });
  }
  useFastWasmInputGradients(true);
  const base = rows[0]!.cpuMsPerStep;
  for (const r of rows) {
    console.log(`${r.variant}: ${r.cpuMsPerStep.toFixed(0)} ms CPU per step (${(base / r.cpuMsPerStep).toFixed(2)}× the baseline's speed), ${r.wallMsPerStep.toFixed(0)} ms wall at load ${r.loadAverage.toFixed(1)}`);
    console.log(`  ${'kernel'.padEnd(38)}${'calls/step'.padStart(11)}${'CPU ms/step'.padStart(13)}`);
    for (const k of r.kernels.slice(0, 12)) console.log(`  ${k.kernel.padEnd(38)}${k.calls.toFixed(0).padStart(11)}${k.cpuMs.toFixed(1).padStart(13)}`);
  }
  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../../bench/results/visualise-step.json');
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), backend: backendName, model: model.version, emotion, note: 'CPU ms per step include the two forward passes that score the start and the result', rows }, null, 2) + '\n');
  process.stderr.write(`[visualise] wrote ${out}\n`);
}

async function main(): Promise<void> {
  if (values.profile !== undefined) {
    const backend = await initBackend({ prefer: 'wasm' });
    const model = await EmotionModel.load(values.model!, { warmUp: false });
    const backbone = await DifferentiableBackbone.load(model.backboneId);
    try {
      await profile(model, backbone, backend.name, values.profile);
    } finally {
      backbone.dispose();
      model.dispose();
    }
    return;
  }
  const emotions: Emotion[] = values.emotion === 'all' ? [...EMOTIONS] : [values.emotion as Emotion];
  if (!emotions.every((e) => (EMOTIONS as readonly string[]).includes(e))) throw new ConfigError(`--emotion must be one of ${EMOTIONS.join(', ')} or all`);
  if (values.emotion !== 'all' && !values.out) throw new ConfigError('--out FILE.png is required (or --emotion all --out-dir DIR)');
  if (values.emotion === 'all' && !values['out-dir']) throw new ConfigError('--emotion all needs --out-dir DIR');
  const steps = values.steps;
  const seed = values.seed;
  const backend = await initBackend();
  process.stderr.write(`[visualise] backend ${backend.name}; ${steps} steps per emotion\n`);
  const model = await EmotionModel.load(values.model!, { warmUp: false });
  const backbone = await DifferentiableBackbone.load(model.backboneId);
  const outDir = values['out-dir'];
  const recordsFile = outDir === undefined ? null : path.join(outDir, VISUALISATIONS_FILE);
  // --emotion all starts the folder's records afresh; one emotion redone into a folder replaces its record only.
  const records = new Map<string, VisualisationRecord>();
  if (recordsFile !== null && values.emotion !== 'all') {
    const old = JSON.parse(await readFile(recordsFile, 'utf8').catch(() => '{"images":[]}')) as { images: VisualisationRecord[] };
    for (const r of old.images) records.set(r.emotion, r);
  }
  const learningRate = values['learning-rate'];
  // Written at every snapshot and at the end: a run stopped half-way leaves its images and their true step counts.
  const save = async (v: Visualisation, started: number): Promise<VisualisationRecord> => {
    const file = values.emotion === 'all' ? path.join(outDir!, `${v.emotion}.png`) : values.out!;
    await writePng(v, file);
    const k = EMOTIONS.indexOf(v.emotion);
    const record: VisualisationRecord = {
      emotion: v.emotion,
      file: path.basename(file),
      steps: v.steps,
      seed,
      seconds: (Date.now() - started) / 1000,
      startScore: v.startLogits[k]!,
      finalScore: v.finalLogits[k]!,
      topEmotion: v.topEmotion,
      finalLogits: v.finalLogits,
      modelVersion: model.version,
    };
    records.set(v.emotion, record);
    if (recordsFile !== null) {
      const images = EMOTIONS.flatMap((e) => records.get(e) ?? []);
      await writeFile(recordsFile, JSON.stringify({ backend: backend.name, images }, null, 2) + '\n');
    }
    return record;
  };
  try {
    for (const emotion of emotions) {
      const bar = new ProgressBar(`visualise ${emotion}`, steps);
      const started = Date.now();
      const v = await visualiseEmotion(model, backbone, {
        emotion,
        steps,
        seed,
        learningRate,
        onStep: (_, score) => bar.tick(1, `score ${score.toFixed(2)}`),
        snapshotEvery: values['snapshot-every'],
        onSnapshot: async (snapshot) => void (await save(snapshot, started)),
      }).finally(() => bar.stop());
      process.stdout.write(JSON.stringify(await save(v, started)) + '\n');
    }
  } finally {
    backbone.dispose();
    model.dispose();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
