import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { isProcessAlive, sleep } from '@moodstream/core';
import { readPid } from '../../scripts/services';
import { ROOT } from '../support/ingester-harness';

/**
 * The suite's own Kafka broker and Redis server, started by scripts/services.ts on ports and in a state folder of their
 * own (MOODSTREAM_SERVICES_*), so the suite may stop, restart and flush them without touching the shared pair every
 * other test uses. Redis runs as services.ts runs it: append-only file on.
 */
export interface PrivateServices {
  kafkaBrokers: string;
  redisUrl: string;
  /** SIGTERM to the service's process, waiting until it is gone (a broker or a Redis server stopped). */
  stop(service: 'kafka' | 'redis'): Promise<void>;
  /** Starts whatever of the two is not running (scripts/services.ts up) and waits until it answers. */
  up(): Promise<void>;
  /** Stops both (scripts/services.ts down). */
  down(): Promise<void>;
}

export interface PrivateServicesOptions {
  dir: string;
  kafkaPort: number;
  redisPort: number;
  log: (line: string) => void;
}

function runServicesScript(command: 'up' | 'down', env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/services.ts', command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) {
        for (const line of output.trim().split('\n')) if (line.trim() !== '') log(`services ${command}: ${line}`);
        resolve();
      } else reject(new Error(`scripts/services.ts ${command} exited ${code}:\n${output.slice(-3000)}`));
    });
  });
}

export async function startPrivateServices(options: PrivateServicesOptions): Promise<PrivateServices> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MOODSTREAM_SERVICES_DIR: options.dir,
    MOODSTREAM_SERVICES_KAFKA_PORT: String(options.kafkaPort),
    MOODSTREAM_SERVICES_CONTROLLER_PORT: String(options.kafkaPort + 1),
    MOODSTREAM_SERVICES_REDIS_PORT: String(options.redisPort),
  };
  // Set, these would make services.ts check someone else's services instead of starting ours.
  delete env['KAFKA_BROKERS'];
  delete env['REDIS_URL'];
  const pidOf = (service: 'kafka' | 'redis'): number | null => readPid(join(options.dir, `${service}.pid`));
  const services: PrivateServices = {
    kafkaBrokers: `127.0.0.1:${options.kafkaPort}`,
    redisUrl: `redis://127.0.0.1:${options.redisPort}`,
    async stop(service) {
      const pid = pidOf(service);
      if (pid === null || !isProcessAlive(pid)) throw new Error(`the suite's ${service} is not running (no live pid in ${options.dir})`);
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 60_000;
      while (isProcessAlive(pid) && Date.now() < deadline) await sleep(100);
      if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    },
    up: () => runServicesScript('up', env, options.log),
    down: () => runServicesScript('down', env, options.log),
  };
  try {
    await services.up();
    // services.ts reuses a server already answering on a port; the suite stops and flushes its own, so it must own both.
    for (const [service, address, variable] of [
      ['kafka', services.kafkaBrokers, 'RELIABILITY_KAFKA_PORT'],
      ['redis', `127.0.0.1:${options.redisPort}`, 'RELIABILITY_REDIS_PORT'],
    ] as const) {
      const pid = pidOf(service);
      if (pid === null || !isProcessAlive(pid)) {
        throw new Error(
          `${address} already has a ${service === 'kafka' ? 'Kafka broker' : 'Redis server'} not started by this suite (no live pid in ${options.dir}); ` +
            `the suite stops and flushes its own, so stop that one or choose another port with ${variable}`,
        );
      }
    }
  } catch (error) {
    // Stop what was started on the way (services.ts down touches only servers with a pid file here), then say why.
    await services.down().catch((stopError: unknown) => options.log(`stopping the suite's services after a failed start: ${String(stopError)}`));
    throw error;
  }
  return services;
}
