/**
 * A real S3-compatible server for end-to-end tests: one ceph-mon, one memory-backed ceph-osd
 * and radosgw on 127.0.0.1, over HTTPS with a throwaway self-signed certificate, SSE-KMS with
 * the `testing` key backend. Starts in about 3 s; `stop()` kills every daemon and removes the
 * temporary directory. See ../../../shared/FACTS.md ("A real S3-compatible server") for the
 * traps this avoids: v1 monitor address, explicit CRUSH placement, a short paxos interval, and a
 * readiness check that the listener really is radosgw.
 */
import { ChildProcess, execFile, spawn } from 'child_process';
import { randomBytes, randomUUID } from 'crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as https from 'https';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);

/** The binaries the server needs (test/radosgw/install.sh installs them). */
const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'ceph', 'openssl'];

/** A running radosgw. */
export interface Radosgw {
  /** `https://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** PEM of the self-signed certificate, for `https.Agent({ ca })` or `NODE_EXTRA_CA_CERTS`. */
  readonly ca: string;
  readonly caFile: string;
  /** Key ids the `testing` KMS backend accepts. */
  readonly kmsKeyIds: string[];
  /** Milliseconds from start() to ready. */
  readonly startupMs: number;
  /** Runs `radosgw-admin` against this cluster. */
  admin(args: string[]): Promise<string>;
  /** Runs `rados` against this cluster (raw object access, e.g. to prove ciphertext at rest). */
  rados(args: string[]): Promise<Buffer>;
  stop(): Promise<void>;
}

/** The missing binaries, or an empty list when the server can start. */
export function missingBinaries(): string[] {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin', '/sbin']);
  return BINARIES.filter((bin) => !dirs.some((dir) => existsSync(path.join(dir, bin))));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a radosgw on free loopback ports; throws (after cleaning up) if it is not ready in `timeoutMs`. */
export async function startRadosgw(timeoutMs = 60_000): Promise<Radosgw> {
  const started = Date.now();
  const missing = missingBinaries();
  if (missing.length > 0) {
    throw new Error(`radosgw cannot start: missing ${missing.join(', ')}; run test/radosgw/install.sh`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'radosgw-'));
  const children: ChildProcess[] = [];
  const conf = path.join(dir, 'ceph.conf');
  const ceph = async (args: string[]) => (await run('ceph', ['-c', conf, ...args], { timeout: 30_000 })).stdout;

  // If the test process dies without calling stop(), the daemons must not outlive it.
  const killOnExit = () => children.forEach((child) => child.kill('SIGKILL'));
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
      }
    }
    const deadline = Date.now() + 5_000;
    while (children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) {
      await sleep(50);
    }
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const sub of ['run', 'log', 'mon', 'osd/osd.0']) {
      mkdirSync(path.join(dir, sub), { recursive: true });
    }
    const [monPort, rgwPort] = [await freePort(), await freePort()];
    const fsid = randomUUID();
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    const kmsKeyIds = ['testkey-1', 'testkey-2'];
    const kmsKeys = kmsKeyIds.map((id) => `${id}=${randomBytes(32).toString('base64')}`).join(' ');

    writeFileSync(conf, [
      '[global]',
      `fsid = ${fsid}`,
      // v1 only: a v2 (msgr2) address on a non-default port does not come up.
      `mon host = v1:127.0.0.1:${monPort}`,
      'mon initial members = a',
      'auth cluster required = none',
      'auth service required = none',
      'auth client required = none',
      'osd pool default size = 1',
      'osd pool default min size = 1',
      'osd pool default pg autoscale mode = off',
      'osd pool default pg num = 8',
      'osd pool default pgp num = 8',
      'mon allow pool size one = true',
      'mon warn on pool no redundancy = false',
      'mon max pg per osd = 1000',
      'osd crush chooseleaf type = 0',
      // The OSD is placed in the CRUSH map explicitly below; letting it place itself races.
      'osd crush update on start = false',
      'osd class update on start = false',
      // 12-16 s to a usable cluster with the default 1 s, about 3 s with this.
      'paxos propose interval = 0.01',
      `run dir = ${dir}/run`,
      `admin socket = ${dir}/run/$name.asok`,
      `log file = ${dir}/log/$name.log`,
      `mon data = ${dir}/mon/$name`,
      `osd data = ${dir}/osd/$name`,
      'osd objectstore = memstore',
      'memstore device bytes = 536870912',
      'ms bind ipv6 = false',
      'public addr = 127.0.0.1',
      '',
      '[client.rgw.a]',
      `rgw frontends = beast ssl_endpoint=127.0.0.1:${rgwPort} ssl_certificate=${cert} ssl_private_key=${key}`,
      'rgw crypt s3 kms backend = testing',
      `rgw crypt s3 kms encryption keys = ${kmsKeys}`,
      'rgw crypt require ssl = true',
      'rgw enable usage log = false',
      '',
    ].join('\n'));

    const daemon = (command: string, args: string[]) => {
      const child = spawn(command, ['-f', '-c', conf, ...args], { stdio: 'ignore' });
      children.push(child);
      return child;
    };

    await run('monmaptool', ['--create', '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, '--fsid', fsid, path.join(dir, 'monmap')]);
    await run('ceph-mon', ['--mkfs', '-c', conf, '-i', 'a', '--monmap', path.join(dir, 'monmap')]);
    daemon('ceph-mon', ['-i', 'a']);

    const osdId = (await ceph(['osd', 'create'])).trim();
    await run('ceph-osd', ['-c', conf, '-i', osdId, '--mkfs']);
    await ceph(['osd', 'crush', 'add-bucket', 'localhost', 'host']);
    await ceph(['osd', 'crush', 'move', 'localhost', 'root=default']);
    await ceph(['osd', 'crush', 'add', `osd.${osdId}`, '1.0', 'host=localhost']);
    daemon('ceph-osd', ['-i', osdId]);

    const accessKeyId = `AK${randomBytes(8).toString('hex').toUpperCase()}`;
    const secretAccessKey = randomBytes(20).toString('hex');
    await run('radosgw-admin', ['-c', conf, 'user', 'create', '--uid', 'e2e', '--display-name', 'e2e',
      '--access-key', accessKeyId, '--secret', secretAccessKey], { timeout: 30_000 });
    const rgw = daemon('radosgw', ['-n', 'client.rgw.a']);

    const ca = readFileSync(cert, 'utf8');
    const endpoint = `https://127.0.0.1:${rgwPort}`;
    while (!(await isRadosgw(endpoint, ca))) {
      if (rgw.exitCode !== null || rgw.signalCode !== null) {
        throw new Error(`radosgw exited (${rgw.exitCode ?? rgw.signalCode}); see ${dir}/log`);
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(`radosgw was not ready on ${endpoint} within ${timeoutMs} ms`);
      }
      await sleep(100);
    }

    return {
      endpoint,
      accessKeyId,
      secretAccessKey,
      ca,
      caFile: cert,
      kmsKeyIds,
      startupMs: Date.now() - started,
      admin: async (args) => (await run('radosgw-admin', ['-c', conf, ...args], { timeout: 30_000 })).stdout,
      rados: async (args) => (await run('rados', ['-c', conf, ...args], { timeout: 30_000, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 })).stdout,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Whether the listener is radosgw: an anonymous ListBuckets answers an S3 XML body and a
 * radosgw request id (`tx...-default`), not just any TLS server that took the port.
 */
async function isRadosgw(endpoint: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = https.get(`${endpoint}/`, { ca, timeout: 1_000 }, (response) => {
      let body = '';
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => {
        const requestId = String(response.headers['x-amz-request-id'] ?? '');
        resolve(/^tx[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-/.test(requestId) && body.includes('ListAllMyBucketsResult'));
      });
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => { request.destroy(); resolve(false); });
  });
}
