#!/usr/bin/env node
// A `solc` command-line stand-in backed by solc-js (the npm package `solc`), for py-solc-x.
//
//   solc_wrapper.js --version
//   solc_wrapper.js --standard-json [--base-path DIR] [--allow-paths A,B] < input.json
//
// Why: the native solc binaries py-solc-x downloads are unreachable here, and `solcjs
// --standard-json` is unusable as a pipe (it prints a notice before the JSON and truncates
// piped output at 64 KiB because it calls process.exit()). This wrapper writes the whole
// output and only sets process.exitCode.
//
// solc-js ignores `sources[*].urls`, so the wrapper reads the first url of every source that
// has no `content` (relative paths resolve against --base-path, else the working directory).
// Imports not among the sources are read the same way (see findImports). Like native solc, compile errors are reported inside
// the JSON output with exit code 0; the exit code is nonzero only when the wrapper itself fails.
'use strict';

const fs = require('fs');
const path = require('path');

function loadSolc() {
  const searchPaths = [path.join(__dirname, '..'), process.cwd()];
  let resolved;
  try {
    resolved = require.resolve('solc', { paths: searchPaths });
  } catch (err) {
    process.stderr.write(
      `solc_wrapper: cannot find the npm package 'solc' (looked in ${searchPaths.join(', ')}); ` +
        'run `npm ci` in the repository root\n',
    );
    return null;
  }
  return require(resolved);
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const takeValue = () => {
      const eq = arg.indexOf('=');
      if (eq >= 0) return arg.slice(eq + 1);
      i += 1;
      if (i >= argv.length) throw new Error(`option ${arg} needs a value`);
      return argv[i];
    };
    if (arg === '--version') opts.version = true;
    else if (arg === '--standard-json') opts.standardJson = true;
    else if (arg === '--base-path' || arg.startsWith('--base-path=')) opts.basePath = takeValue();
    else if (arg === '--allow-paths' || arg.startsWith('--allow-paths=')) {
      opts.allowPaths.push(...takeValue().split(',').filter(Boolean));
    } else if (arg === '-') {
      // "read from stdin": implied by --standard-json
    } else {
      throw new Error(`unrecognised option '${arg}'`);
    }
  }
  return opts;
}

function resolveSourcePath(p, basePath) {
  if (path.isAbsolute(p)) return p;
  return path.resolve(basePath || process.cwd(), p);
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
    return;
  }

  const solc = loadSolc();
  if (solc === null) {
    process.exitCode = 1;
    return;
  }

  if (opts.version) {
    process.stdout.write(
      `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`,
    );
    return;
  }
  if (!opts.standardJson) {
    process.stderr.write('solc_wrapper: only --version and --standard-json are supported\n');
    process.exitCode = 2;
    return;
  }

  let input;
  try {
    input = JSON.parse(readStdin());
  } catch (err) {
    process.stderr.write(`solc_wrapper: standard JSON input is not valid JSON: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }

  const readErrors = [];
  for (const [name, source] of Object.entries(input.sources || {})) {
    if (typeof source.content === 'string') continue;
    const urls = Array.isArray(source.urls) ? source.urls : [];
    if (urls.length === 0) continue;
    const file = resolveSourcePath(urls[0], opts.basePath);
    try {
      source.content = fs.readFileSync(file, 'utf8');
      delete source.urls;
    } catch (err) {
      readErrors.push({
        component: 'general',
        formattedMessage: `Error: cannot read source '${name}' from ${file}: ${err.message}\n`,
        message: `cannot read source '${name}' from ${file}: ${err.message}`,
        severity: 'error',
        type: 'IOError',
      });
    }
  }
  if (readErrors.length > 0) {
    process.stdout.write(JSON.stringify({ errors: readErrors }));
    return;
  }

  // An import not among the sources (for example a subfolder file a caller left out) is read
  // from --base-path or the working directory, then from the repository root, where the
  // source unit names (`contracts/...`) start, then from its node_modules (package imports
  // such as `@openzeppelin/contracts/...`, pinned in package.json).
  const repoRoot = path.join(__dirname, '..');
  const importRoots = [opts.basePath || process.cwd(), repoRoot, path.join(repoRoot, 'node_modules')];
  const findImports = (importPath) => {
    for (const root of importRoots) {
      const file = path.isAbsolute(importPath) ? importPath : path.resolve(root, importPath);
      try {
        return { contents: fs.readFileSync(file, 'utf8') };
      } catch (err) {
        // try the next root
      }
    }
    return { error: `File not found: ${importPath}` };
  };

  const output = solc.compile(JSON.stringify(input), { import: findImports });
  process.stdout.write(output);
  process.exitCode = 0;
}

main();
