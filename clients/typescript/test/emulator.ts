// The local AWS emulator for the tests: tests/emulator/moto_launcher.py on a free loopback port,
// started with the repository's venv python and stopped by its PID.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { SSMClient } from '@aws-sdk/client-ssm';

const PACKAGE_DIR = resolve(__dirname, '..');
const LAUNCHER = resolve(PACKAGE_DIR, '../../tests/emulator/moto_launcher.py');
const START_TIMEOUT_MS = 30_000;

/** The venv's python: `BUDGET_GUARD_PYTHON`, else the repository's `.venv` (relative to this package). */
function python(): string {
  const configured = process.env['BUDGET_GUARD_PYTHON'];
  return configured ? resolve(PACKAGE_DIR, configured) : resolve(PACKAGE_DIR, '../../.venv/bin/python');
}

function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      done(true);
    });
    socket.on('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export class Emulator {
  private stopped = false;

  private constructor(
    private readonly process: ChildProcess,
    private readonly dir: string,
    private readonly logFd: number,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<Emulator> {
    const dir = mkdtempSync(join(tmpdir(), 'bg-router-emulator-'));
    const portFile = join(dir, 'port');
    const logFile = join(dir, 'log');
    const logFd = openSync(logFile, 'w');
    const env: NodeJS.ProcessEnv = { ...process.env, BUDGET_GUARD_EXIT_WITH_PARENT: String(process.pid) };
    delete env['BUDGET_GUARD_CALL_LOG'];
    const child = spawn(python(), [LAUNCHER, '0', '--port-file', portFile], {
      stdio: ['ignore', logFd, logFd],
      env,
    });
    let spawnError: Error | undefined;
    child.on('error', (error) => {
      spawnError = error;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (spawnError !== undefined || child.exitCode !== null) {
        const log = readFileSync(logFile, 'utf8');
        closeSync(logFd);
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`the emulator did not start (${python()}): ${spawnError?.message ?? log}`);
      }
      const text = existsSync(portFile) ? readFileSync(portFile, 'utf8').trim() : '';
      if (text !== '' && (await answers(Number(text)))) {
        return new Emulator(child, dir, logFd, `http://127.0.0.1:${Number(text)}`);
      }
      await sleep(50);
    }
    const emulator = new Emulator(child, dir, logFd, '');
    await emulator.stop();
    throw new Error(`the emulator did not answer within ${START_TIMEOUT_MS / 1000} s`);
  }

  /** An SSM client on the emulator (fake credentials, us-east-1), or on `endpoint` when given. */
  client(endpoint: string = this.endpoint): SSMClient {
    return new SSMClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
    });
  }

  /** Stops the process this object started, by its PID, and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const child = this.process;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      process.kill(child.pid, 'SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!stopped) {
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }
    }
    closeSync(this.logFd);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
