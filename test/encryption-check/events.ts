import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceUpdateEvent,
} from 'aws-lambda';
import { CheckProperties } from '../../src/encryption-check/types';

const common = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:framework-onEvent',
  ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/Test/00000000-0000-0000-0000-000000000000',
  RequestId: 'request-1',
  LogicalResourceId: 'BucketEncryptionCheck1234ABCD',
  ResourceType: 'Custom::S3EncryptionCheck',
};

/** The properties as CloudFormation sends them (strings and lists of strings). */
export function properties(props: Partial<CheckProperties> & { BucketName: string }): CheckProperties & { ServiceToken: string } {
  return { ServiceToken: common.ServiceToken, ExpectSseC: 'BLOCKED', OnViolation: 'FAIL', ...props };
}

export function createEvent(props: Partial<CheckProperties> & { BucketName: string }): CloudFormationCustomResourceCreateEvent {
  return { ...common, RequestType: 'Create', ResourceProperties: properties(props) };
}

export function updateEvent(
  props: Partial<CheckProperties> & { BucketName: string },
  oldProps: Partial<CheckProperties> & { BucketName: string },
): CloudFormationCustomResourceUpdateEvent {
  return {
    ...common,
    RequestType: 'Update',
    PhysicalResourceId: `s3-encryption-check:${oldProps.BucketName}`,
    ResourceProperties: properties(props),
    OldResourceProperties: properties(oldProps),
  };
}

export function deleteEvent(props: Partial<CheckProperties> & { BucketName: string }): CloudFormationCustomResourceDeleteEvent {
  return { ...common, RequestType: 'Delete', PhysicalResourceId: `s3-encryption-check:${props.BucketName}`, ResourceProperties: properties(props) };
}

export type AnyEvent = CloudFormationCustomResourceEvent;
