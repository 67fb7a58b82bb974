/** Log lines of an in-process gateway, as objects (pass `stream` as startTestGateway's logStream). */
import { PassThrough } from 'node:stream';

export interface LogCapture {
  readonly stream: PassThrough;
  readonly lines: Record<string, unknown>[];
}

export function captureLogs(): LogCapture {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    // A chunk need not end at a line's end: keep the tail for the next one.
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { stream, lines };
}
