import { createServer } from 'http';
import type { AddressInfo } from 'net';
import { responseOf, sendResponse, type CustomResourceRequest } from '../../../lambda/adopt/cfn';

const request: CustomResourceRequest = {
  RequestType: 'Create',
  ResponseURL: 'http://127.0.0.1/response',
  StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/DdbMirror-us-east-1/guid',
  RequestId: 'req-1',
  LogicalResourceId: 'StoriesAdoptedResource',
  ResourceType: 'Custom::DdbMirrorAdoptedTable',
  ResourceProperties: {},
};

describe('the custom resource response', () => {
  test('carries the ids CloudFormation matches it by, and the data on success', () => {
    expect(
      responseOf(request, { status: 'SUCCESS', physicalResourceId: 'Stories', data: { StreamArn: 's' } }),
    ).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: 'Stories',
      StackId: request.StackId,
      RequestId: 'req-1',
      LogicalResourceId: 'StoriesAdoptedResource',
      Data: { StreamArn: 's' },
    });
  });

  test('cuts a long reason, so the response stays under the 4,096 bytes CloudFormation accepts', () => {
    const response = responseOf(request, {
      status: 'FAILED',
      physicalResourceId: 'Stories',
      reason: 'x'.repeat(5000),
    });
    expect(response.Status).toBe('FAILED');
    expect(response.Reason!.length).toBe(2000);
    expect(Buffer.byteLength(JSON.stringify(response))).toBeLessThan(4096);
  });

  test('is PUT to the response URL with an empty content type (what the pre-signed URL is signed for)', async () => {
    // GIVEN a local stand-in for the pre-signed URL
    const received: { method?: string; type?: string; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ method: req.method, type: req.headers['content-type'], body });
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/signed`;
    try {
      // WHEN
      await sendResponse(url, responseOf(request, { status: 'SUCCESS', physicalResourceId: 'Stories' }));
      // THEN
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ method: 'PUT', type: '' });
      expect(JSON.parse(received[0].body)).toMatchObject({ Status: 'SUCCESS', RequestId: 'req-1' });
    } finally {
      server.close();
    }
  });

  test('fails when the URL refuses it', async () => {
    const refusing = (async () =>
      new Response('expired', { status: 403, statusText: 'Forbidden' })) as typeof fetch;
    await expect(
      sendResponse('http://x', responseOf(request, { status: 'SUCCESS', physicalResourceId: 'S' }), refusing),
    ).rejects.toThrow('the response URL answered 403 Forbidden');
  });
});
