import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * libs/events is loaded by the browser bundle as well as by Node services, so it may lean on zod alone: no other
 * package, no Node built-in, no Node-only global. These checks keep it that way.
 */

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const SRC_DIR = join(PACKAGE_DIR, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|mts|cts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** Every module a file imports or re-exports (static, dynamic or require), as the TypeScript scanner reads them. */
function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** Identifiers that exist in Node but not in a browser. */
const NODE_GLOBALS = new Set(['Buffer', 'process', '__dirname', '__filename', 'require', 'global']);

function nodeGlobalsUsed(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    // A bare identifier, not a property name (`x.process`) or an object key.
    if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text) && !ts.isPropertyAccessExpression(node.parent) && !ts.isPropertyAssignment(node.parent)) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${relative(PACKAGE_DIR, file)}:${line + 1} uses ${node.text}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test('libs/events/package.json depends on zod and nothing else', () => {
  const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys((manifest.dependencies ?? {}) as Record<string, string>), ['zod']);
  for (const field of ['peerDependencies', 'optionalDependencies']) {
    assert.deepEqual(Object.keys((manifest[field] ?? {}) as Record<string, string>), [], `no ${field}`);
  }
});

test('libs/events/src imports only zod and its own files', () => {
  const offending: string[] = [];
  for (const file of sourceFiles(SRC_DIR)) {
    for (const specifier of importsOf(file)) {
      const relativeInside = specifier.startsWith('.') && !relative(SRC_DIR, resolve(file, '..', specifier)).startsWith('..');
      if (specifier !== 'zod' && !relativeInside) offending.push(`${relative(PACKAGE_DIR, file)} imports '${specifier}'`);
    }
  }
  assert.deepEqual(offending, []);
});

test('libs/events/src uses no Node-only globals', () => {
  assert.deepEqual(sourceFiles(SRC_DIR).flatMap(nodeGlobalsUsed), []);
});
