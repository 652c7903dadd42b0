import { randomUUID } from 'crypto';
import { listenLocally, readBody } from './aws-proxy';

/**
 * Runs one Lambda-backed custom resource as CloudFormation does: the function is invoked with the
 * request, and the answer is what it PUTs to the request's ResponseURL (a pre-signed S3 URL in AWS; an
 * HTTP endpoint on 127.0.0.1 here), not what the invocation returns.
 */

export interface CustomResourceCall {
  readonly requestType: 'Create' | 'Update' | 'Delete';
  readonly stackName: string;
  readonly region: string;
  readonly account: string;
  readonly logicalId: string;
  readonly resourceType: string;
  /** `ResourceProperties`, ServiceToken included. */
  readonly properties: Readonly<Record<string, unknown>>;
  readonly physicalResourceId?: string;
  /** How long to wait for the response, ms (CloudFormation waits up to the resource's ServiceTimeout). */
  readonly timeoutMs: number;
}

export interface CustomResourceAnswer {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId?: string;
  readonly Data?: Readonly<Record<string, string>>;
}

export class CustomResourceError extends Error {}

/** Invokes `invoke` with the request and resolves with the response it sends. */
export async function runCustomResource(
  invoke: (event: unknown) => Promise<unknown>,
  call: CustomResourceCall,
): Promise<CustomResourceAnswer> {
  const requestId = randomUUID();
  let answer: (a: CustomResourceAnswer) => void = () => undefined;
  const answered = new Promise<CustomResourceAnswer>((resolve) => (answer = resolve));
  const { server, endpoint } = await listenLocally(undefined, async (req, res) => {
    const body = (await readBody(req)).toString('utf8');
    res.writeHead(200).end();
    if (req.method === 'PUT') answer(JSON.parse(body) as CustomResourceAnswer);
  });
  const what = `${call.resourceType} ${call.logicalId} in ${call.region}`;
  let timer: NodeJS.Timeout | undefined;
  try {
    const event = {
      RequestType: call.requestType,
      ServiceToken: call.properties.ServiceToken,
      ResponseURL: `${endpoint}/${requestId}`,
      StackId: `arn:aws:cloudformation:${call.region}:${call.account}:stack/${call.stackName}/local`,
      RequestId: requestId,
      LogicalResourceId: call.logicalId,
      ResourceType: call.resourceType,
      ...(call.physicalResourceId ? { PhysicalResourceId: call.physicalResourceId } : {}),
      ResourceProperties: call.properties,
    };
    // The invocation's own failure (a crash, a timeout) leaves CloudFormation waiting: report it at once.
    const invoked = invoke(event).then(
      () => answered,
      (e: Error) => Promise.reject(new CustomResourceError(`${what}: the function failed: ${e.message}`)),
    );
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CustomResourceError(`${what}: no response within ${call.timeoutMs} ms`)),
        call.timeoutMs,
      );
    });
    return await Promise.race([answered, invoked, timedOut]);
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
