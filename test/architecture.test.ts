// The layers of docs/architecture.md, read from the code's own imports: a module imports from
// its own layer or a lower one, and from a higher layer only for types. The TypeScript parser
// reads each file, so `import type`, `import { type X }` and `export … from` are told apart
// exactly as the compiler tells them apart.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/** Lowest first. The first rule a path matches decides its layer. */
const LAYERS: Array<{ name: string; paths: RegExp }> = [
  { name: 'foundation', paths: /^(errors|config|clock|logging|lazy)\.ts$|^audit\/events\.ts$|^crypto\/|^http\// },
  { name: 'storage', paths: /^storage\// },
  { name: 'pages', paths: /^pages\/(render|i18n)\.ts$|^pages\/locales\/|^mail\/(templates|account-messages)\.ts$|^account\/page\.ts$/ },
  { name: 'routes', paths: /(^|\/)routes\.ts$|-routes\.ts$|^admin\/|^openapi\/|^login\/respond\.ts$/ },
  { name: 'composition', paths: /^(app|main|services)\.ts$|^cli\// },
];
const SERVICES_RANK = 1.5; // between storage and pages: everything not named above

function rankOf(path: string): number {
  const index = LAYERS.findIndex((layer) => layer.paths.test(path));
  return index === -1 ? SERVICES_RANK : index;
}

function nameOf(rank: number): string {
  return rank === SERVICES_RANK ? 'services' : (LAYERS[rank]?.name ?? '?');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
}

/** Every relative import and re-export of a file, with whether it brings in types only. */
function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Import[] = [];
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean) => {
    if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) return;
    found.push({
      from: relative(SRC, file),
      to: relative(SRC, normalize(join(dirname(file), specifier.text))),
      typeOnly,
    });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      const typeOnly = node.isTypeOnly || (clause !== undefined && ts.isNamedExports(clause) && clause.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('architecture', () => {
  const files = sourceFiles(SRC);
  const imports = files.flatMap(importsOf);

  it('reads the imports of every source file', () => {
    assert.ok(files.length > 50, `found ${files.length} files under src/`);
    assert.ok(imports.filter((i) => !i.typeOnly).length > 100, 'found the value imports');
    // The parser sees through `import type` and `import { type X }`.
    assert.ok(imports.some((i) => i.from === 'admin/routes.ts' && i.to === 'services.ts' && i.typeOnly));
  });

  it('no module imports a higher layer except for types', () => {
    const upward = imports
      .filter((i) => !i.typeOnly && rankOf(i.to) > rankOf(i.from))
      .map((i) => `${i.from} (${nameOf(rankOf(i.from))}) imports ${i.to} (${nameOf(rankOf(i.to))})`);
    assert.deepEqual(upward, []);
  });

  it('the rule catches an upward import', () => {
    // A service reaching into a route file is what the rule exists to stop.
    assert.ok(rankOf('login/password/routes.ts') > rankOf('users/users.ts'));
    assert.ok(rankOf('users/users.ts') > rankOf('storage/database.ts'));
    assert.ok(rankOf('storage/database.ts') > rankOf('errors.ts'));
    assert.ok(rankOf('app.ts') > rankOf('admin/routes.ts'));
  });

  it('only the composition layer wires services together', () => {
    // `new XService(` outside app.ts, the command line and the tests' support would be a second wiring.
    const wiring = files
      .filter((file) => !/^(app\.ts|cli\/)/.test(relative(SRC, file)))
      .filter((file) => /new (ProjectService|UserService|PinService|SessionService|AuditLog|TokenIssuer|AuthorizationCodes|KeyRing)\(/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SRC, file));
    assert.deepEqual(wiring, []);
  });
});
