/**
 * The CloudFormation custom resource protocol as the adopt function speaks it: the request it is invoked
 * with, and the response it PUTs to the request's pre-signed ResponseURL (CloudFormation waits for that,
 * not for the invocation's result).
 */

export interface CustomResourceRequest {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly ResourceType: string;
  /** Present on Update and Delete. */
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: Readonly<Record<string, unknown>>;
  readonly OldResourceProperties?: Readonly<Record<string, unknown>>;
}

export type Outcome =
  | {
      readonly status: 'SUCCESS';
      readonly physicalResourceId: string;
      readonly data?: Readonly<Record<string, string>>;
    }
  | { readonly status: 'FAILED'; readonly physicalResourceId: string; readonly reason: string };

export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Readonly<Record<string, string>>;
}

/** CloudFormation refuses a response over 4,096 bytes: the reason is cut well below. */
const MAX_REASON = 2000;

/** The response body for `request`. Pure. */
export function responseOf(request: CustomResourceRequest, outcome: Outcome): CustomResourceResponse {
  const common = {
    PhysicalResourceId: outcome.physicalResourceId,
    StackId: request.StackId,
    RequestId: request.RequestId,
    LogicalResourceId: request.LogicalResourceId,
  };
  if (outcome.status === 'FAILED') {
    const reason =
      outcome.reason.length > MAX_REASON ? `${outcome.reason.slice(0, MAX_REASON - 3)}...` : outcome.reason;
    return { Status: 'FAILED', Reason: reason, ...common };
  }
  return { Status: 'SUCCESS', ...common, ...(outcome.data ? { Data: outcome.data } : {}) };
}

/**
 * PUTs the response. The pre-signed URL is signed for an empty content type, so none is sent.
 * @throws when the URL does not accept it (CloudFormation then waits out its timeout).
 */
export async function sendResponse(
  url: string,
  response: CustomResourceResponse,
  fetchFn: typeof fetch = fetch,
): Promise<void> {
  const body = JSON.stringify(response);
  const res = await fetchFn(url, {
    method: 'PUT',
    body,
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
  });
  if (!res.ok) throw new Error(`the response URL answered ${res.status} ${res.statusText}`);
}
