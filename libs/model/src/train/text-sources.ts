import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Emotion, Post } from '@moodstream/events';
import { EMOTIONS } from '@moodstream/events';
import { ValidationError } from '@moodstream/core';
import { textTokens } from '../text/preprocess';
import { readTextTsv } from './data';
import type { DevDomain, LabelledRow } from './trainer';

/** One labelled text domain: its train rows, its own dev split, and where its test split is (if any). */
export interface TextSource {
  name: string;
  weight: number;
  train: LabelledRow[];
  dev: LabelledRow[];
  trainFile: string | null;
  devFile: string | null;
  testFile: string | null;
  /** How dev was made (a file, or a time-held-out slice of recorded posts). */
  devNote: string;
}

/** `name=weight,name=weight` → map; a bare name means weight 1. */
export function parseSourceWeights(spec: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, w] = part.split('=');
    const weight = w === undefined ? 1 : Number(w);
    if (!name || !(weight >= 0) || !Number.isFinite(weight)) throw new ValidationError(`source weight '${part}' is not name=number`);
    out.set(name, weight);
  }
  return out;
}

/**
 * A named text source under the data folder: `<data>/<name>/ekman6_{train,dev,test}.tsv` (GoEmotions,
 * CARER). Returns null when the folder lacks a train file, so a fresh clone trains on what it has.
 */
export async function loadTsvSource(data: string, name: string, weight: number, source: number, files: { train?: string; dev?: string } = {}): Promise<TextSource | null> {
  const trainFile = files.train ?? path.join(data, name, 'ekman6_train.tsv');
  if (!existsSync(trainFile)) return null;
  const devFile = files.dev ?? path.join(data, name, 'ekman6_dev.tsv');
  const testFile = path.join(path.dirname(trainFile), 'ekman6_test.tsv');
  const toRow = (t: { text: string; label: number }): LabelledRow => ({ tokens: textTokens(t.text), imageFeatures: null, label: t.label, source });
  return {
    name,
    weight,
    train: (await readTextTsv(trainFile)).map(toRow),
    dev: existsSync(devFile) ? (await readTextTsv(devFile)).map(toRow) : [],
    trainFile,
    devFile: existsSync(devFile) ? devFile : null,
    testFile: existsSync(testFile) ? testFile : null,
    devNote: `file ${path.basename(devFile)}`,
  };
}

/** A time split of labelled posts: oldest for training, then a validation slice, then the newest held out. */
export interface PostsTimeSplit<T> {
  train: T[];
  validation: T[];
  heldOut: T[];
}

/**
 * Orders labelled posts by publication time (id breaks ties) and cuts them: the newest `heldOutShare` are
 * the time-held-out slice (the promotion gate's), the `validationShare` before them select and calibrate.
 * Testing on the newest posts is what a model that will score the next posts has to pass.
 */
export function splitPostsByTime<T extends Pick<Post, 'timestamp' | 'id'>>(posts: readonly T[], validationShare = 0.1, heldOutShare = 0.1): PostsTimeSplit<T> {
  const sorted = [...posts].sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const nHeld = Math.round(sorted.length * heldOutShare);
  const nVal = Math.round(sorted.length * validationShare);
  const trainEnd = sorted.length - nHeld - nVal;
  return { train: sorted.slice(0, trainEnd), validation: sorted.slice(trainEnd, trainEnd + nVal), heldOut: sorted.slice(trainEnd + nVal) };
}

/** A labelled post as a text row (images are not fetched here: the loop learns from text). */
export function postRow(post: Post & { label: Emotion }, source: number): LabelledRow {
  return { tokens: textTokens(post.text), imageFeatures: null, label: EMOTIONS.indexOf(post.label), source };
}

/**
 * The dev splits that calibrate a model built from trained folders (average-weights, merge-members): one domain per
 * named source that has one, in the order given; a source without a dev split is reported and skipped, and none at
 * all is an error (there would be nothing to calibrate on).
 */
export async function loadDevDomains(data: string, sources: string, log: (line: string) => void): Promise<DevDomain[]> {
  const domains: DevDomain[] = [];
  for (const name of sources.split(',').map((n) => n.trim()).filter(Boolean)) {
    const source = await loadTsvSource(data, name, 1, domains.length);
    if (!source || source.dev.length === 0) log(`source ${name}: no dev split under ${data}, skipped`);
    else domains.push({ name, rows: source.dev });
  }
  if (domains.length === 0) throw new ValidationError(`no dev split under ${data}: nothing to calibrate on`);
  return domains;
}
