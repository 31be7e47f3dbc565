import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { EMOTIONS, WINDOW_MS } from '@moodstream/events';

/**
 * The browser bundle (src/ui and Next's app/) takes its schemas and constants from @moodstream/events, the one
 * package built for both sides. These checks fail when it reaches for a Node package or server code instead, or
 * starts keeping its own copy of the emotion list or the window widths again.
 */

const DASHBOARD_DIR = fileURLToPath(new URL('..', import.meta.url));
const BROWSER_DIRS = ['src/ui', 'app'].map((d) => join(DASHBOARD_DIR, d));

function browserFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return browserFiles(path);
    return /\.(ts|tsx|js|jsx|mjs)$/.test(entry.name) ? [path] : [];
  });
}

const files = BROWSER_DIRS.flatMap(browserFiles);
const where = (file: string) => relative(DASHBOARD_DIR, file);

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
}

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  ts.forEachChild(node, (child) => walk(child, visit));
}

function line(source: ts.SourceFile, node: ts.Node): number {
  return source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
}

/** Why the browser may not import `specifier` from `file`, or null when it may. */
function forbiddenImport(file: string, specifier: string): string | null {
  if (specifier.startsWith('@moodstream/') && specifier !== '@moodstream/events') return 'a Node package: take the contract from @moodstream/events';
  if (specifier.startsWith('node:')) return 'a Node built-in';
  if (specifier.startsWith('.')) {
    const target = resolve(file, '..', specifier);
    if (!BROWSER_DIRS.some((dir) => !relative(dir, target).startsWith('..'))) return 'server-side code outside src/ui and app/';
  }
  return null;
}

it('finds the browser code it guards', () => {
  assert.ok(files.some((f) => f.endsWith('api.ts')) && files.some((f) => f.endsWith('page.tsx')), `scanned: ${files.map(where).join(', ')}`);
});

describe('browser code', () => {
  it('imports no @moodstream package but events, no Node built-in and no server code', () => {
    const offending: string[] = [];
    for (const file of files) {
      for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
        const why = forbiddenImport(file, fileName);
        if (why !== null) offending.push(`${where(file)} imports '${fileName}': ${why}`);
      }
    }
    assert.deepEqual(offending, []);
  });

  it('spells no list of emotion names: iterate EMOTIONS from @moodstream/events', () => {
    const emotions = new Set<string>(EMOTIONS);
    const offending: string[] = [];
    for (const file of files) {
      const source = parse(file);
      walk(source, (node) => {
        if (!ts.isArrayLiteralExpression(node)) return;
        const named = node.elements.filter((e) => ts.isStringLiteralLike(e) && emotions.has(e.text));
        if (named.length >= 2) offending.push(`${where(file)}:${line(source, node)} lists emotions ${node.getText(source).replace(/\s+/g, ' ')}`);
      });
    }
    assert.deepEqual(offending, []);
  });

  it('restates no window width in ms: use WINDOW_MS from @moodstream/events', () => {
    const widths = new Set(Object.values(WINDOW_MS));
    const offending: string[] = [];
    for (const file of files) {
      const source = parse(file);
      walk(source, (node) => {
        if (ts.isNumericLiteral(node) && widths.has(Number(node.text.replace(/_/g, '')))) offending.push(`${where(file)}:${line(source, node)} has ${node.getText(source)}`);
      });
    }
    assert.deepEqual(offending, []);
  });
});
