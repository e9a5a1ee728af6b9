// The API reference in README.md is complete: every symbol the published .d.ts files export,
// and every member, option, parameter field, string-literal value and error-detail field they
// declare, is documented in the "## API reference" section, in the subsection of its symbol.
// A member marked @deprecated in the types must be called deprecated where it is documented.
// The .d.ts files are read with the TypeScript compiler's parser (a devDependency).
// Run: cd pkg && node --test test/reference.test.js

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ts = require('typescript');

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const typesDir = path.join(pkgDir, 'types');
const TYPE_FILES = fs.readdirSync(typesDir).filter((f) => f.endsWith('.d.ts')).sort();
/** Utility types whose later type arguments are key names, not values. */
const KEY_UTILITIES = new Set(['Omit', 'Pick']);

/** The name of a declaration or member as the reference writes it. */
function nameOf(node) {
  const n = node.name;
  if (!n) return null;
  if (ts.isComputedPropertyName(n)) return n.expression.getText(); // Symbol.asyncDispose
  return n.text ?? n.getText();
}

function isDeprecated(node) {
  return ts.getJSDocTags(node).some((t) => t.tagName.text === 'deprecated');
}

/**
 * What the types declare, symbol by symbol: Map name -> { members: Map member -> { deprecated },
 * literals: Set of string-literal values }. Members include the fields of object types written
 * inline anywhere in a declaration (an options parameter, a return type, Array<{...}>).
 */
function declared() {
  const symbols = new Map();
  const entry = (name) => {
    if (!symbols.has(name)) symbols.set(name, { members: new Map(), literals: new Set(), files: new Set() });
    return symbols.get(name);
  };
  const addMember = (sym, node) => {
    const name = nameOf(node);
    if (name === null) return;
    const had = sym.members.get(name);
    sym.members.set(name, { deprecated: isDeprecated(node) || Boolean(had?.deprecated) });
  };
  /**
   * Every inline object type's members, and every string-literal value (`tls?: 'none' | ...`),
   * under `node`. Literals that name keys rather than values (`SyncState['toJSON']`,
   * `Omit<T, 'signal'>`) are not values to document.
   */
  const walkTypes = (sym, node) => {
    const visit = (n) => {
      if (ts.isTypeLiteralNode(n)) for (const m of n.members) addMember(sym, m);
      if (ts.isLiteralTypeNode(n) && ts.isStringLiteral(n.literal)) sym.literals.add(n.literal.text);
      if (ts.isIndexedAccessTypeNode(n)) return visit(n.objectType);
      if (ts.isTypeReferenceNode(n) && KEY_UTILITIES.has(n.typeName.getText())) return n.typeArguments && visit(n.typeArguments[0]);
      ts.forEachChild(n, visit);
    };
    visit(node);
  };
  for (const file of TYPE_FILES) {
    const source = ts.createSourceFile(file, fs.readFileSync(path.join(typesDir, file), 'utf8'), ts.ScriptTarget.Latest, true);
    for (const stmt of source.statements) {
      const exported = stmt.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (!exported) continue; // imports, `declare global`, re-exports
      if (ts.isExportDeclaration(stmt)) continue;
      const name = nameOf(stmt);
      const sym = entry(name);
      sym.files.add(file);
      if (ts.isInterfaceDeclaration(stmt) || ts.isClassDeclaration(stmt)) {
        for (const m of stmt.members) {
          if (ts.isConstructorDeclaration(m)) {
            for (const p of m.parameters) walkTypes(sym, p);
            continue;
          }
          addMember(sym, m);
          walkTypes(sym, m);
        }
      } else if (ts.isFunctionDeclaration(stmt)) {
        for (const p of stmt.parameters) {
          sym.members.set(p.name.getText(), { deprecated: false, parameter: true });
          walkTypes(sym, p);
        }
        if (stmt.type) walkTypes(sym, stmt.type);
      } else if (ts.isTypeAliasDeclaration(stmt)) {
        walkTypes(sym, stmt.type);
      }
    }
  }
  return symbols;
}

/** The reference: Map symbol -> the text of every subsection whose heading names it. */
function documented() {
  const readme = fs.readFileSync(path.join(pkgDir, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## API reference\n');
  assert.ok(start >= 0, 'README.md has an "## API reference" section');
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  const sections = new Map();
  const parts = section.split(/\n(?=#{3,4} )/);
  for (const part of parts) {
    const heading = part.split('\n')[0];
    if (!/^#{3,4} /.test(heading)) continue;
    const m = /`([A-Za-z_$][\w$]*)/.exec(heading);
    if (!m) continue;
    sections.set(m[1], `${sections.get(m[1]) ?? ''}\n${part}`);
  }
  return { section, sections };
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `name` written as code: `name`, `name(...)`, `client.name`, `name: ...`, `[name]()`; or, for a
 * field of an inline object type, as one of the names of a code span written as an object:
 * `{ seconds, perUser }`, `save({ uid, bytes })`.
 */
function mentions(text, name) {
  if (new RegExp(`\`\\[?(?:[\\w.]*\\.)?${escape(name)}\\]?(?=[\`(?:\\s=<,\\]])`).test(text)) return true;
  const word = new RegExp(`\\{[^}]*(?<![\\w$])${escape(name)}(?![\\w$])[^}]*\\}`);
  return (text.match(/`[^`\n]*`/g) ?? []).some((span) => word.test(span));
}

test('the types declare what the reference is checked against (the parser works)', () => {
  const symbols = declared();
  for (const name of ['connect', 'Pop3Client', 'Pop3Error', 'ErrorCode', 'ErrorDetail', 'SyncOptions', 'NodeConnectOptions', 'openDenoStream']) {
    assert.ok(symbols.has(name), `${name} is found in the types`);
  }
  assert.ok(symbols.get('Pop3Client').members.has('retrieveMany'));
  assert.ok(symbols.get('Pop3Client').members.has('Symbol.asyncDispose'));
  assert.ok(symbols.get('ErrorDetail').literals.has('listing'));
  assert.ok(symbols.get('ErrorDetail').members.has('beyondCount'));
  assert.ok(symbols.get('Capabilities').members.has('perUser'), 'fields of inline object types');
  assert.ok(symbols.get('SyncOptions').members.has('journal'), 'fields of callback parameters');
  assert.ok(symbols.get('NodeConnectOptions').members.get('servername').deprecated);
  assert.ok(symbols.get('buildInfo').members.has('hostCharsets'), 'fields of a return type');
});

test('every exported symbol of the types has its subsection in the API reference', () => {
  const { sections } = documented();
  const missing = [...declared().keys()].filter((name) => !sections.has(name));
  assert.deepEqual(missing, [], 'exported symbols without a "### `name`" or "#### `name`" heading in README.md\'s API reference');
});

test('every member, option, parameter, literal value and detail field is documented in its symbol\'s subsection', () => {
  const { sections } = documented();
  const missing = [];
  for (const [name, sym] of declared()) {
    const text = sections.get(name) ?? '';
    for (const [member, { parameter }] of sym.members) {
      // A function's parameters may be named in its heading: `connect(options)`.
      if (!mentions(text, member) && !(parameter && new RegExp(`\\b${escape(member)}\\b`).test(text.split('\n')[1] ?? ''))) {
        missing.push(`${name}.${member}`);
      }
    }
    for (const literal of sym.literals) {
      if (!new RegExp(`\`'?${escape(literal)}'?\``).test(text)) missing.push(`${name}: '${literal}'`);
    }
  }
  assert.deepEqual(missing, [], 'declared in the types, not documented in README.md\'s API reference');
});

test('a member deprecated in the types is called deprecated where it is documented', () => {
  const { sections } = documented();
  const wrong = [];
  for (const [name, sym] of declared()) {
    for (const [member, { deprecated }] of sym.members) {
      if (!deprecated) continue;
      const lines = (sections.get(name) ?? '').split('\n').filter((l) => mentions(l, member));
      if (!lines.some((l) => /deprecated/i.test(l))) wrong.push(`${name}.${member}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('every error code has its exit code in the pop3 table, and the README links the reference', () => {
  const { sections } = documented();
  const codes = declared().get('ErrorCode').literals;
  const table = sections.get('ErrorCode');
  for (const code of codes) assert.match(table, new RegExp(`^\\| \`${code}\` \\|.*\\| \\d+ \\|$`, 'm'), `row of ${code}`);
  const readme = fs.readFileSync(path.join(pkgDir, 'README.md'), 'utf8');
  assert.ok(readme.indexOf('(#api-reference)') < readme.indexOf('\n## API reference\n'), 'linked from the top');
});

/** The names a module exports, read from its source with the TypeScript parser. */
function exportsOf(file, { valuesOnly = false } = {}) {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const names = new Set();
  for (const stmt of source.statements) {
    if (ts.isExportDeclaration(stmt)) {
      if (stmt.isTypeOnly) continue;
      if (!stmt.exportClause) { // export * from './index.js'
        for (const n of exportsOf(path.resolve(path.dirname(file), stmt.moduleSpecifier.text.replace(/\.js$/, '.d.ts')), { valuesOnly })) names.add(n);
        continue;
      }
      for (const e of stmt.exportClause.elements) if (!e.isTypeOnly) names.add(e.name.text);
      continue;
    }
    if (!stmt.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if (valuesOnly && (ts.isInterfaceDeclaration(stmt) || ts.isTypeAliasDeclaration(stmt))) continue;
    if (ts.isVariableStatement(stmt)) {
      for (const d of stmt.declarationList.declarations) {
        if (ts.isIdentifier(d.name)) names.add(d.name.text);
        else for (const e of d.name.elements) names.add(e.name.text);
      }
    } else if (stmt.name) {
      names.add(stmt.name.text);
    }
  }
  return names;
}

test('every entry point exports at run time exactly the values its types declare (the rest is documented as not API)', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const { section } = documented();
  const pairs = new Map();
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target !== 'object' || !target.types) continue;
    for (const [condition, js] of Object.entries(target)) {
      if (condition === 'types') continue;
      const types = typeof target.types === 'string' ? target.types : target.types[condition] ?? target.types.default;
      pairs.set(`${js} ${types}`, { subpath, condition, js, types });
    }
  }
  assert.ok(pairs.size >= 6, 'the export map was read');
  const problems = [];
  for (const { subpath, condition, js, types } of pairs.values()) {
    const runtime = exportsOf(path.join(pkgDir, js));
    const declaredValues = exportsOf(path.join(pkgDir, types), { valuesOnly: true });
    for (const name of declaredValues) if (!runtime.has(name)) problems.push(`${subpath} (${condition}, ${js}): ${name} is declared in ${types} but not exported`);
    for (const name of runtime) {
      if (!declaredValues.has(name) && !mentions(section, name)) problems.push(`${subpath} (${condition}, ${js}): ${name} is exported but neither declared in ${types} nor named in the reference`);
    }
  }
  assert.deepEqual(problems, []);
});
