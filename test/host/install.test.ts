// Host kernel: the package as a user gets it, packed and installed with no install scripts and no compiler on PATH, runs from the prebuilt addon.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from '../support/test.js';
import { oneLine, REPO } from '../support/cli.js';
import { programsGone, removeScratchPinRoots, scratchPinRoot } from '../support/kernel.js';
import { tool } from '../support/tools.js';

const manifest = JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as { name: string; version: string };
const work = mkdtempSync(join(tmpdir(), 'lkb-install-'));
const prefix = join(work, 'prefix');
const installed = join(prefix, 'lib', 'node_modules', manifest.name);
const command = join(prefix, 'bin', manifest.name);

after(() => {
  removeScratchPinRoots();
  rmSync(work, { recursive: true, force: true });
});

/** A PATH with node, npm and the basic tools a shell script calls, and no compiler, make or Python. */
function bareBin(): string {
  const bin = join(work, 'bin');
  mkdirSync(bin);
  const npm = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync(npm, join(bin, 'npm'));
  symlinkSync(join(npm, '..', 'npx'), join(bin, 'npx'));
  for (const basic of ['sh', 'env', 'readlink', 'cat', 'ls', 'uname', 'id']) symlinkSync(tool(basic), join(bin, basic));
  return bin;
}

/**
 * What the installs and the installed command see: this environment (certificates, proxies) with
 * the bare PATH, a fresh npm cache, npm's global settings as here, and no npm_* settings of this run.
 */
function bareEnv(bin: string): NodeJS.ProcessEnv {
  const globalconfig = run('npm', ['config', 'get', 'globalconfig']).stdout.trim();
  const inherited = Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name));
  return { ...Object.fromEntries(inherited), PATH: bin, npm_config_cache: join(work, 'npm-cache'), npm_config_globalconfig: globalconfig, npm_config_update_notifier: 'false' };
}

function run(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  const result = spawnSync(file, args, { encoding: 'utf8', cwd: options.cwd ?? work, env: options.env, timeout: options.timeoutMs ?? 60_000 });
  if (result.error) throw result.error;
  return result;
}

let packed: { tarball: string; env: NodeJS.ProcessEnv } | Error | undefined;

/** Packs the project (which builds the prebuilds) and installs the tarball globally into an empty prefix, once; a failure fails every test. */
function install(): { tarball: string; env: NodeJS.ProcessEnv } {
  packed ??= packAndInstall();
  if (packed instanceof Error) throw packed;
  return packed;
}

function packAndInstall(): { tarball: string; env: NodeJS.ProcessEnv } | Error {
  try {
    // npm pack runs prepack, scripts/prebuild.sh: the arm64 addon needs the cross compiler.
    tool('aarch64-linux-gnu-g++');
    const pack = run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: REPO, timeoutMs: 300_000 });
    assert.equal(pack.status, 0, pack.stderr);
    const tarball = join(work, pack.stdout.trim().split('\n').pop()!);
    const env = bareEnv(bareBin());
    for (const compiler of ['cc', 'c++', 'g++', 'gcc', 'make', 'python', 'python3']) {
      assert.equal(run('sh', ['-c', `command -v ${compiler}`], { env }).stdout, '', `${compiler} is on the bare PATH`);
    }
    const npmInstall = run('npm', ['install', '--global', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', tarball], { env, timeoutMs: 300_000 });
    assert.equal(npmInstall.status, 0, npmInstall.stderr);
    return { tarball, env };
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

describe('the packed package', () => {
  test('holds what a user needs: the command, the library, both prebuilds, the examples; no tests, sources of the build or install scripts', () => {
    install();
    const files = readdirSync(installed, { recursive: true, encoding: 'utf8' });
    for (const needed of ['bin/load-kp-bpf', 'dist/index.js', 'dist/index.d.ts', 'prebuilds/linux-x64/node.napi.glibc.node', 'prebuilds/linux-arm64/node.napi.glibc.node', 'examples/bpf_cmds_tp.o', 'README.md']) {
      assert.ok(files.includes(needed), `${needed} is in the package`);
    }
    for (const file of files) {
      assert.doesNotMatch(file, /^(test|bench|src|build|scripts)(\/|$)|\.map$|^examples\/(uprobe_target|demo\.sh)$/, `${file} is in the package`);
    }
    const installedManifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string>; gypfile?: boolean };
    for (const script of ['preinstall', 'install', 'postinstall']) assert.equal(installedManifest.scripts?.[script], undefined, `a ${script} script`);
    // Without this, npm would compile binding.gyp at install.
    assert.equal(installedManifest.gypfile, false);
  });
});

describe('installed with --ignore-scripts and no compiler', () => {
  test('load-kp-bpf --version prints the version', () => {
    const { env } = install();
    const result = run(command, ['--version'], { env });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), manifest.version);
  });

  test('npx runs it from the tarball, installing nothing globally', () => {
    const { env, tarball } = install();
    const result = run('npx', ['--yes', `--package=${tarball}`, '--', manifest.name, '--version'], { env, timeoutMs: 120_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), manifest.version);
  });

  test('map list calls the kernel through the prebuilt addon', () => {
    const { env } = install();
    assert.equal(existsSync(join(installed, 'build')), false, 'nothing was compiled');
    const result = run(command, ['map', 'list'], { env });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
  });

  test('an example attaches to a tracepoint, runs for a second and detaches', async () => {
    const { env } = install();
    const root = scratchPinRoot('install');
    const result = run(command, [join(installed, 'examples', 'bpf_cmds_tp.o'), '--duration', '1', '--pin-root', root], { env });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^programs\n {2}count_bpf_cmds {2}type tracepoint .* id \d+/m);
    assert.match(result.stdout, /^attached\n {2}tracepoint {2}syscalls\/sys_enter_bpf .*program count_bpf_cmds$/m);
    assert.match(result.stdout, /^detached \(the --duration ended\)$/m);
    await programsGone('count_bpf_cmds');
  });

  test('without a prebuild for this machine, a kernel call says which platform and how to build the addon', () => {
    const { env } = install();
    const prebuild = join(installed, 'prebuilds', `linux-${process.arch}`);
    renameSync(prebuild, `${prebuild}.away`);
    try {
      const result = run(command, ['map', 'list'], { env });
      assert.equal(result.status, 1);
      assert.equal(
        oneLine(result.stderr),
        `load-kp-bpf: cannot start: the native addon has no prebuild for linux-${process.arch} (glibc) and is not built; build it with npm run build:addon --prefix ${installed} (needs g++, make and Python)`,
      );
    } finally {
      renameSync(`${prebuild}.away`, prebuild);
    }
  });

  test('the arm64 prebuild loads in an arm64 Node under qemu-aarch64 and makes system calls', () => {
    install();
    const script = `
      const { createRequire } = require('node:module');
      const load = createRequire(${JSON.stringify(join(installed, 'package.json'))})('node-gyp-build');
      const path = load.resolve(${JSON.stringify(installed)});
      const addon = require(path);
      console.log(process.arch, path.slice(${installed.length + 1}), addon.pageSize() > 0, addon.getrlimit(7).length);`;
    const result = run(tool('node-arm64'), ['-e', script], { timeoutMs: 120_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'arm64 prebuilds/linux-arm64/node.napi.glibc.node true 2\n');
  });
});
