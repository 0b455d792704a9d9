/**
 * A fault-injecting HTTP proxy on 127.0.0.1 between the AWS SDK and radosgw, for end-to-end
 * tests of what real networks and a real S3 do to a client: 503 SlowDown and 500 InternalError
 * answers, connections reset before forwarding, answers dropped AFTER the request was forwarded
 * and answered (the write landed, the client never hears of it), slow answers, and failing
 * deletes. Faults are drawn from a seeded generator, so a failing run can be replayed.
 *
 * It also MODELS AWS where radosgw differs: AWS answers `412 PreconditionFailed` to a PutObject
 * with `If-None-Match: *` when the key already exists; radosgw (Ceph 16) ignores the header and
 * writes another version. The proxy asks `exists` (a direct, un-proxied lookup) and answers 412
 * itself, as AWS would. Turn it off (`modelIfNoneMatch: false`) to see radosgw's own behaviour.
 *
 * The SDK talks plain HTTP to the proxy (SigV4 signs the Host header the proxy passes on
 * unchanged); the proxy talks HTTPS to radosgw, which refuses SSE headers over plain HTTP.
 */
import * as http from 'http';
import * as https from 'https';
import { AddressInfo } from 'net';

/** What the proxy does to one request. */
export type Fault =
  | 'slow-down' // answer 503 SlowDown without forwarding
  | 'internal-error' // answer 500 InternalError without forwarding
  | 'reset' // reset the connection without forwarding
  | 'answer-lost' // forward, wait for radosgw's answer, then reset the client's connection
  | 'delay' // wait `delayMs`, then forward
  | 'fail-delete'; // answer 500 to DeleteObject(s) without forwarding

/** Probabilities per request, each in [0, 1]; drawn in this order. */
export interface FaultRates {
  readonly slowDown?: number;
  readonly internalError?: number;
  readonly reset?: number;
  readonly answerLost?: number;
  readonly delay?: number;
  readonly failDelete?: number;
}

/** One request as the proxy saw it. */
export interface ProxiedRequest {
  readonly method: string;
  readonly bucket: string;
  /** The object key, '' for bucket-level requests. */
  readonly key: string;
  readonly query: string;
  /** Keys named in a DeleteObjects body. */
  readonly deleteKeys: string[];
  readonly ifNoneMatch: boolean;
  /** The fault applied, `precondition-failed` for the AWS model, or undefined when forwarded as is. */
  readonly fault?: Fault | 'precondition-failed';
  /** radosgw's status, when the request was forwarded and answered. */
  readonly status?: number;
}

export interface FaultProxyOptions {
  /** radosgw's HTTPS endpoint. */
  readonly target: string;
  /** radosgw's self-signed certificate. */
  readonly ca: string;
  readonly seed: number;
  readonly rates?: FaultRates;
  /** Wait of the `delay` fault. */
  readonly delayMs?: number;
  /** Answer 412 as AWS does for `If-None-Match: *` on an existing key. @default true */
  readonly modelIfNoneMatch?: boolean;
  /** Whether `bucket/key` exists (asked past the proxy), for the 412 model. */
  readonly exists: (bucket: string, key: string) => Promise<boolean>;
  /** Scripted faults: consulted before the random ones; return undefined for no opinion. */
  readonly script?: (request: ProxiedRequest, index: number) => Fault | 'none' | undefined;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Every request, in arrival order. */
  readonly requests: ProxiedRequest[];
  stop(): Promise<void>;
}

/** Park-Miller's minimal standard generator: seeded, so that a run's faults can be replayed. */
export function seededRandom(seed: number): () => number {
  const modulus = 2_147_483_647;
  let state = Math.abs(Math.floor(seed)) % modulus || 1;
  return () => {
    state = (state * 48_271) % modulus;
    return (state - 1) / (modulus - 1);
  };
}

const s3Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;

/** Starts the proxy on a free loopback port. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random = seededRandom(options.seed);
  const rates = options.rates ?? {};
  const requests: ProxiedRequest[] = [];
  const target = new URL(options.target);
  const agent = new https.Agent({ ca: options.ca, keepAlive: true });
  const sockets = new Set<import('net').Socket>();

  const draw = (request: Omit<ProxiedRequest, 'fault' | 'status'>): Fault | undefined => {
    const isDelete = request.method === 'DELETE' || (request.method === 'POST' && /(^|&)delete(=|&|$)/.test(request.query));
    // Draw every rate on every request, so that the sequence depends only on the seed and the order.
    const draws = {
      slowDown: random(), internalError: random(), reset: random(), answerLost: random(), delay: random(), failDelete: random(),
    };
    if (draws.slowDown < (rates.slowDown ?? 0)) return 'slow-down';
    if (draws.internalError < (rates.internalError ?? 0)) return 'internal-error';
    if (draws.reset < (rates.reset ?? 0)) return 'reset';
    if (draws.answerLost < (rates.answerLost ?? 0)) return 'answer-lost';
    if (draws.delay < (rates.delay ?? 0)) return 'delay';
    if (isDelete && draws.failDelete < (rates.failDelete ?? 0)) return 'fail-delete';
    return undefined;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks)).catch((error) => {
        if (!res.headersSent) {
          res.writeHead(502).end(String(error));
        } else {
          res.destroy();
        }
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const deleteKeys = [...body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
    const base = {
      method: req.method ?? 'GET', bucket, key, query: url.search.replace(/^\?/, ''), deleteKeys, ifNoneMatch: req.headers['if-none-match'] === '*',
    };
    const index = requests.length;
    const record: { -readonly [K in keyof ProxiedRequest]: ProxiedRequest[K] } = { ...base };
    requests.push(record);

    if ((options.modelIfNoneMatch ?? true) && base.method === 'PUT' && key !== '' && base.ifNoneMatch && await options.exists(bucket, key)) {
      record.fault = 'precondition-failed';
      res.writeHead(412, { 'content-type': 'application/xml' })
        .end(s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'));
      return;
    }
    const scripted = options.script?.(record, index);
    const fault = scripted === 'none' ? undefined : scripted ?? draw(base);
    record.fault = fault;
    switch (fault) {
      case 'slow-down':
        res.writeHead(503, { 'content-type': 'application/xml' }).end(s3Error('SlowDown', 'Please reduce your request rate.'));
        return;
      case 'internal-error':
      case 'fail-delete':
        res.writeHead(500, { 'content-type': 'application/xml' }).end(s3Error('InternalError', 'We encountered an internal error. Please try again.'));
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 1_000));
        break;
      default:
        break;
    }

    const upstream = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const forwarded = https.request({
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        // Headers as signed, the Host header included.
        headers: req.headers,
        agent,
      }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => parts.push(chunk));
        answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(parts) }));
        answer.on('error', reject);
      });
      forwarded.on('error', reject);
      forwarded.end(body);
    });
    record.status = upstream.status;
    if (fault === 'answer-lost') {
      // The request landed on radosgw; the client never hears the answer.
      req.socket.destroy();
      return;
    }
    const headers = { ...upstream.headers };
    delete headers['transfer-encoding'];
    delete headers.connection;
    if (base.method !== 'HEAD') {
      headers['content-length'] = String(upstream.body.length);
    }
    res.writeHead(upstream.status, headers).end(base.method === 'HEAD' ? undefined : upstream.body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: async () => {
      sockets.forEach((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
