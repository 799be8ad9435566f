/**
 * `fusekit mount <module> <mountpoint>`: mount the tree a module exports.
 *
 * The module's default export is a `Tree`, a root `VDir`, or a function
 * (possibly async) returning either. JavaScript modules are imported as they
 * are. TypeScript modules are compiled on the fly: Node 20 cannot strip types,
 * so the file is transpiled with the `typescript` package's `transpileModule`
 * (types are erased, nothing is type-checked) into a temporary `.mjs` file next
 * to the source, so that its imports resolve as the source's would, and that
 * file is removed once imported. `typescript` is looked up from the module's
 * own directory first, then from fusekit's; if neither has it, install it
 * (`npm i -D typescript`) or compile the module to JavaScript yourself. A TS
 * module's relative imports of other `.ts` files are not compiled: keep the
 * entry module self-contained, or build with `tsc`.
 */
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TreeBridge } from '../vfs/bridge.ts';
import { VDir } from '../vfs/dir.ts';
import { Tree, createTree } from '../vfs/tree.ts';
import { parseServeArgs, runForeground } from './run.ts';

type TS = {
  transpileModule(src: string, o: { compilerOptions: Record<string, unknown>; fileName: string }): { outputText: string };
  ModuleKind: { ESNext: number };
  ScriptTarget: { ES2022: number };
};

function loadTypescript(from: string): TS {
  for (const base of [from, import.meta.url]) {
    try {
      return createRequire(base)('typescript') as TS;
    } catch {
      /* try the next place */
    }
  }
  throw new Error(
    `${from} is TypeScript, and the "typescript" package (used to strip its types) is not installed.\n` +
      'Install it next to your module (npm i -D typescript), or compile the module to JavaScript and mount the .js file.',
  );
}

/** Import a module, compiling it first when it is TypeScript. */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new Error(`no such module: ${abs}`);
  if (!/\.(m|c)?ts$/.test(abs)) return (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  const ts = loadTypescript(abs);
  const out = ts.transpileModule(readFileSync(abs, 'utf8'), {
    fileName: abs,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, rewriteRelativeImportExtensions: true, verbatimModuleSyntax: false },
  }).outputText;
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs).replace(/\.(m|c)?ts$/, '')}.fusekit-${process.pid}.mjs`);
  writeFileSync(tmp, out);
  try {
    return (await import(pathToFileURL(tmp).href)) as Record<string, unknown>;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  }
}

/** Turn a module's default export into a Tree. */
export async function treeOf(exported: unknown, what: string): Promise<Tree> {
  let v = exported;
  if (typeof v === 'function') v = await (v as () => unknown)();
  if (v instanceof Tree) return v;
  if (v instanceof VDir) return createTree(v);
  throw new Error(`${what}: the default export must be a Tree, a root directory (dir(...)), or a function returning one`);
}

export async function mountCommand(argv: string[]): Promise<number> {
  const args = parseServeArgs(argv, 'fusekit mount <module.ts|module.js> <mountpoint> [-o opt,...] [--debug]', (mod) => ({
    fsname: path.basename(mod).replace(/\.[^.]+$/, ''),
    subtype: 'fusekit',
    defaultPermissions: true,
  }));
  if (!args) return 2;
  const mod = args.what;
  let tree: Tree;
  try {
    tree = await treeOf((await importModule(mod)).default, mod);
  } catch (e) {
    process.stderr.write(`fusekit: ${(e as Error).message}\n`);
    return 1;
  }
  return runForeground(new TreeBridge(tree), args.mountpoint, { ...args.opts, label: `tree ${mod}` });
}
