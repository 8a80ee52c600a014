/**
 * The product image from the tests' side: build it with `deploy/image/build.sh` and run its
 * services with podman as this machine allows (vfs storage, runc, cgroupfs, host network, no
 * default ulimits). Container names carry the run id, so runs never meet.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@ehrflow/testing';

const run = promisify(execFile);

export const PODMAN_FLAGS = ['--storage-driver', 'vfs', '--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];

/** Environment of every podman call: the containers.conf without default ulimits. */
export function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: join(REPO_ROOT, '.run', 'image', 'containers.conf') };
}

/** Builds the image on a base assembled locally (nothing is pulled); resolves with its reference. */
export async function buildImage(tag: string): Promise<string> {
  const { stdout } = await run(
    'bash',
    [join(REPO_ROOT, 'deploy', 'image', 'build.sh'), '--local-base', '--tag', tag],
    {
      cwd: REPO_ROOT,
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return stdout.trim().split('\n').at(-1) ?? tag;
}

export async function podman(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run('podman', [...PODMAN_FLAGS, ...args], {
    env: podmanEnv(),
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Host folders mounted read-only at the same path. */
  readonly mounts?: readonly string[];
}

/**
 * Starts a detached container as Kubernetes runs the pods: read-only root file system, a tmpfs
 * on /tmp, no capabilities, no privilege escalation, the image's non-root user.
 */
export async function startContainer(spec: ContainerSpec): Promise<void> {
  const envFlags = Object.entries(spec.env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const mountFlags = (spec.mounts ?? []).flatMap((dir) => ['-v', `${dir}:${dir}:ro`]);
  await podman([
    'run',
    '--detach',
    '--name',
    spec.name,
    '--network',
    'host',
    '--read-only',
    '--tmpfs',
    '/tmp',
    '--cap-drop',
    'all',
    '--security-opt',
    'no-new-privileges',
    ...envFlags,
    ...mountFlags,
    spec.image,
    ...spec.args,
  ]);
}

/** `podman inspect` state of a container: running or not, and its exit code once stopped. */
export async function containerState(name: string): Promise<{ running: boolean; exitCode: number }> {
  const out = await podman(['inspect', '--format', '{{.State.Running}} {{.State.ExitCode}}', name]);
  const [running, code] = out.trim().split(' ');
  return { running: running === 'true', exitCode: Number(code) };
}

export async function containerLogs(name: string): Promise<string> {
  try {
    const { stdout, stderr } = await run('podman', [...PODMAN_FLAGS, 'logs', name], {
      env: podmanEnv(),
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout + stderr;
  } catch {
    return '';
  }
}

export async function removeContainer(name: string): Promise<void> {
  await podman(['rm', '--force', '--time', '0', name]).catch(() => undefined);
}
