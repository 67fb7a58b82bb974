/**
 * The load generator's GraphQL client: node:http over keep-alive sockets,
 * one per worker. It shares two cores with the gateway, so it must cost
 * less than the server it measures (fetch cost about as much CPU per request
 * as the gateway's whole answer, and the bench measured the client).
 * Every answer is still checked: status 200, JSON, no `errors`.
 */
import { Agent, request } from 'node:http';

export type GraphQLPost = (query: string, variables: Record<string, unknown>) => Promise<void>;

export function graphqlClient(url: string, token: string, sockets: number): GraphQLPost {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const target = new URL(url);
  return (query, variables) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({ query, variables });
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${token}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            try {
              const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { errors?: unknown[] };
              if (res.statusCode !== 200 || answer.errors)
                reject(new Error(`HTTP ${res.statusCode}: ${JSON.stringify(answer.errors)}`));
              else resolve();
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}
