import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  EMOTIONS,
  EmotionSchema,
  ExplainPostRequestSchema,
  MODEL_VISUALISATION_PATH,
  ModelInfoSchema,
  type EvaluationRow,
  type ModelInfo,
  type PostExplanation,
} from '@moodstream/events';
import { MoodstreamError, createLimit, parseInput, readJsonBody, sendJson, type Logger, type Router } from '@moodstream/core';

/** The deployed model folder (as the trends host and the series export read it). */
const DEFAULT_MODEL_DIR = 'models/default';

export interface ModelRoutesOptions {
  logger: Logger;
  modelDir?: string;
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

type EvalSection = { n?: number; accuracy?: number | null; macroF1?: number | null; ece?: number | null; note?: string } | null | undefined;

/** The study's Table 6.1 rows from `npm run eval -- --json` output (explain/evaluation.json): priors, image, text, fused. */
function evaluationRows(raw: unknown): ModelInfo['evaluation'] {
  if (raw === null || typeof raw !== 'object') return null;
  const e = raw as { priors?: { text?: EvalSection; image?: EvalSection }; image?: EvalSection; text?: EvalSection; fused?: EvalSection; textFile?: string };
  const row = (name: string, s: EvalSection): EvaluationRow[] =>
    s && typeof s.n === 'number' && s.n > 0 ? [{ name, n: s.n, accuracy: s.accuracy ?? null, macroF1: s.macroF1 ?? null, ece: s.ece ?? null, ...(s.note ? { note: s.note } : {}) }] : [];
  const rows = [
    ...row('guessing by priors (text)', e.priors?.text),
    ...row('guessing by priors (image)', e.priors?.image),
    ...row('image only', e.image),
    ...row('text only', e.text),
    ...row('fused (image + text)', e.fused),
  ];
  return rows.length === 0 ? null : { source: 'npm run eval -- --json (GoEmotions ekman6 test; Emotion6 held-out fifth)', rows };
}

/** Reads what the model page shows from the model folder; parts it lacks are null, each read on every request (small files, rare requests). */
export async function readModelInfo(dir: string): Promise<ModelInfo> {
  const explain = path.join(dir, 'explain');
  const config = (await readJson(path.join(dir, 'config.json'))) as { version?: string } | null;
  const card = await readFile(path.join(dir, 'MODEL_CARD.md'), 'utf8').catch(() => null);
  const confusion = (await readJson(path.join(dir, 'confusion.json'))) as ModelInfo['confusion'];
  const topWords = (await readJson(path.join(explain, 'top-words.json'))) as ModelInfo['topWords'];
  const vis = (await readJson(path.join(explain, 'visualisations.json'))) as { images?: Array<Record<string, unknown>> } | null;
  const generated = (await readJson(path.join(explain, 'generated-posts.json'))) as ModelInfo['generated'];
  const visualisations = (vis?.images ?? [])
    .filter((v) => EMOTIONS.includes(v.emotion as never))
    .sort((a, b) => EMOTIONS.indexOf(a.emotion as never) - EMOTIONS.indexOf(b.emotion as never))
    .map((v) => ({
      emotion: v.emotion,
      url: `${MODEL_VISUALISATION_PATH}/${String(v.emotion)}.png`,
      steps: v.steps,
      startScore: v.startScore,
      finalScore: v.finalScore,
      topEmotion: v.topEmotion,
      seconds: v.seconds,
    }));
  // The files are the CLIs' output: whatever does not fit the contract is left out rather than served.
  const info = {
    version: config?.version ?? 'unknown',
    card,
    evaluation: evaluationRows(await readJson(path.join(explain, 'evaluation.json'))),
    confusion,
    topWords,
    visualisations,
    generated,
  };
  const parsed = ModelInfoSchema.safeParse(info);
  if (parsed.success) return parsed.data;
  const keys = new Set(parsed.error.issues.map((i) => String(i.path[0])));
  return ModelInfoSchema.parse({ ...info, ...Object.fromEntries([...keys].filter((k) => k !== 'version' && k !== 'visualisations').map((k) => [k, null])), ...(keys.has('visualisations') ? { visualisations: [] } : {}) });
}

type Explainer = (body: ReturnType<typeof ExplainPostRequestSchema.parse>) => Promise<PostExplanation>;

/** Loads the text model on first use (not at start-up: most dashboards never explain a post). */
function lazyExplainer(dir: string): Explainer {
  let loading: Promise<{ explain: Explainer }> | null = null;
  const load = async () => {
    const model = await import('@moodstream/model');
    if (model.currentBackend() === null) await model.initBackend();
    const emotionModel = await model.EmotionModel.load(dir, { warmUp: false });
    return { explain: (body: Parameters<Explainer>[0]) => model.explainPost(emotionModel, body) as Promise<PostExplanation> };
  };
  return async (body) => {
    loading ??= load().catch((error: unknown) => {
      loading = null;
      throw new MoodstreamError('MODEL_FORMAT_INVALID', `the model cannot be loaded for explanations: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
    return (await loading).explain(body);
  };
}

/**
 * The model page's API: GET /api/model (card, Table 6.1, confusion, top words, visualisations, generated posts),
 * GET /api/model/visualisations/<emotion>.png, and POST /api/explain/post (per-word contributions and the image's
 * share). Explaining changes nothing, so it needs no operator credential; it is CPU work, so one runs at a time.
 */
export function addModelRoutes(router: Router, options: ModelRoutesOptions): Router {
  const dir = options.modelDir ?? DEFAULT_MODEL_DIR;
  const explain = lazyExplainer(dir);
  const oneAtATime = createLimit(1);
  router.get('/api/model', async ({ res }) => sendJson(res, 200, await readModelInfo(dir)));
  router.get(`${MODEL_VISUALISATION_PATH}/:file`, async ({ res, params }) => {
    const emotion = parseInput(EmotionSchema, (params.file ?? '').replace(/\.png$/, ''), 'emotion');
    const bytes = await readFile(path.join(dir, 'explain', `${emotion}.png`)).catch(() => null);
    if (bytes === null) throw new MoodstreamError('NOT_FOUND', `no class visualisation for ${emotion}: run npm run visualise -- --emotion all --out-dir ${dir}/explain`);
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(bytes.length), 'cache-control': 'no-cache' });
    res.end(bytes);
  });
  router.post('/api/explain/post', async ({ req, res }) => {
    const body = parseInput(ExplainPostRequestSchema, await readJsonBody(req, 16 * 1024), 'explain request');
    sendJson(res, 200, await oneAtATime.run(() => explain(body)));
  });
  return router;
}
