/**
 * Fails when a module of src/ outside src/config/ reads the environment, or
 * when any module writes it: configuration is read in one place, and a value
 * is handed on, never smuggled through the environment. Run by `npm test`.
 *
 * It reads the syntax, not the text: `process.env.X`, `process['env']`,
 * `const { env } = process` and `env` imported from node:process all count
 * as reading; an assignment to or through one of them (`=`, `??=`, …),
 * `delete` and `Object.assign(process.env, …)` as writing.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';

/** Where reading the environment is allowed. */
const READERS = /^src\/config\//;

/**
 * The one write allowed, and why: graphql-js reads NODE_ENV when it loads,
 * so production mode cannot be a value handed on (see the file).
 */
const WRITES_ALLOWED = [{ file: 'src/config/production-mode.ts', variable: 'NODE_ENV' }];

const root = path.resolve(import.meta.dirname, '..');

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(root, dir), { withFileTypes: true });
  const files = await Promise.all(
    entries.map(async (e) => {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) return sources(rel);
      return /\.(ts|mts|cts|js|mjs|cjs)$/.test(e.name) ? [rel] : [];
    }),
  );
  return files.flat();
}

const isProcess = (node: ts.Node): boolean => ts.isIdentifier(node) && node.text === 'process';

/** `process.env` or `process['env']`. */
function isProcessEnv(node: ts.Node): boolean {
  if (ts.isPropertyAccessExpression(node)) return isProcess(node.expression) && node.name.text === 'env';
  if (ts.isElementAccessExpression(node)) {
    return (
      isProcess(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      node.argumentExpression.text === 'env'
    );
  }
  return false;
}

const ASSIGNMENTS = new Set([
  ts.SyntaxKind.EqualsToken,
  ts.SyntaxKind.QuestionQuestionEqualsToken,
  ts.SyntaxKind.BarBarEqualsToken,
  ts.SyntaxKind.AmpersandAmpersandEqualsToken,
  ts.SyntaxKind.PlusEqualsToken,
]);

/** The variable `env` (process.env) is written through here, or undefined if it is only read. */
function written(env: ts.Node): { variable: string } | undefined {
  let target: ts.Node = env;
  let variable = '(all)';
  const member = env.parent;
  if (
    (ts.isPropertyAccessExpression(member) || ts.isElementAccessExpression(member)) &&
    member.expression === env
  ) {
    target = member;
    if (ts.isPropertyAccessExpression(member)) variable = member.name.text;
    else if (ts.isStringLiteralLike(member.argumentExpression)) variable = member.argumentExpression.text;
    else variable = '(computed)';
  }
  const use = target.parent;
  if (ts.isBinaryExpression(use) && use.left === target && ASSIGNMENTS.has(use.operatorToken.kind)) {
    return { variable };
  }
  if (ts.isDeleteExpression(use)) return { variable };
  if (
    ts.isCallExpression(env.parent) &&
    env.parent.arguments[0] === env &&
    /^Object\.(assign|defineProperty|defineProperties)$/.test(env.parent.expression.getText())
  ) {
    return { variable };
  }
  return undefined;
}

const problems: string[] = [];
for (const file of await sources('src')) {
  const text = await readFile(path.join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const where = (node: ts.Node) =>
    `${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
  const mayRead = READERS.test(file);
  const visit = (node: ts.Node): void => {
    if (isProcessEnv(node)) {
      const write = written(node);
      if (write) {
        const allowed = WRITES_ALLOWED.some((w) => w.file === file && w.variable === write.variable);
        if (!allowed) {
          problems.push(
            `${where(node)}: writes the environment (${write.variable}); pass the value on instead`,
          );
        }
      } else if (!mayRead) {
        problems.push(`${where(node)}: reads the environment; take the value from src/config/`);
      }
    } else if (
      !mayRead &&
      ts.isVariableDeclaration(node) &&
      node.initializer &&
      isProcess(node.initializer) &&
      ts.isObjectBindingPattern(node.name) &&
      node.name.elements.some((e) => (e.propertyName ?? e.name).getText(source) === 'env')
    ) {
      problems.push(`${where(node)}: reads the environment; take the value from src/config/`);
    } else if (
      !mayRead &&
      ts.isImportDeclaration(node) &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      /^(node:)?process$/.test(node.moduleSpecifier.text)
    ) {
      problems.push(
        `${where(node)}: imports node:process; use the global, and the environment from src/config/`,
      );
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

if (problems.length > 0) {
  console.error(
    `the environment is read only in src/config/ and written nowhere (${WRITES_ALLOWED.map((w) => `${w.variable} in ${w.file}`).join(', ')} excepted):`,
  );
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log('the environment is read only in src/config/ and written only where allowed');
