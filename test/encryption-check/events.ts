import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceUpdateEvent,
} from 'aws-lambda';
import { ATTRIBUTE_NAMES, CheckEntry, CheckProperties, StackCheckProperties } from '../../src/encryption-check/types';

const common = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:CdkS3EncryptionCheckHandler',
  ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/Test/00000000-0000-0000-0000-000000000000',
  RequestId: 'request-1',
  LogicalResourceId: 'CdkS3EncryptionCheck87C788ED',
  ResourceType: 'Custom::S3EncryptionCheck',
};

/** The key of the one bucket the single-bucket events carry. */
export const KEY = 'b0';
export const PHYSICAL_ID = `s3-encryption-check:${common.LogicalResourceId}`;

type EntryInput = Partial<CheckEntry> & { BucketName: string };

/** One bucket entry as CloudFormation sends it (strings and lists of strings). */
export function entry(props: EntryInput): CheckEntry {
  return { Key: KEY, ExpectSseC: 'BLOCKED', OnViolation: 'FAIL', Fingerprint: '0', ...props };
}

/** An entry of `bucket` under `key`. */
export function bucketEntryFor(key: string, bucket: string, props: Partial<CheckEntry> = {}): CheckEntry {
  return entry({ ...props, Key: key, BucketName: bucket });
}

/**
 * The stack check's properties for `entries`; every attribute of every entry is referenced
 * unless `attributes` says otherwise.
 */
export function stackProperties(entries: CheckEntry[], attributes?: string[]): StackCheckProperties & { ServiceToken: string } {
  const all = entries.flatMap((e) => Object.keys(ATTRIBUTE_NAMES).map((name) => `${e.Key}.${name}`));
  const list = attributes ?? all;
  return { ServiceToken: common.ServiceToken, Buckets: entries, ...(list.length > 0 ? { Attributes: list } : {}) };
}

/** The properties of a stack check of one bucket (key `KEY`), all its attributes referenced. */
export function properties(props: Partial<CheckProperties> & { BucketName: string }): StackCheckProperties & { ServiceToken: string } {
  return stackProperties([entry(props)]);
}

export function createEvent(props: Partial<CheckProperties> & { BucketName: string }): CloudFormationCustomResourceCreateEvent {
  return stackCreateEvent(properties(props));
}

export function stackCreateEvent(props: StackCheckProperties & { ServiceToken: string }): CloudFormationCustomResourceCreateEvent {
  return { ...common, RequestType: 'Create', ResourceProperties: props as never };
}

export function updateEvent(
  props: Partial<CheckProperties> & { BucketName: string },
  oldProps: Partial<CheckProperties> & { BucketName: string },
): CloudFormationCustomResourceUpdateEvent {
  return stackUpdateEvent(properties(props), properties(oldProps));
}

export function stackUpdateEvent(props: StackCheckProperties & { ServiceToken: string }, oldProps: unknown): CloudFormationCustomResourceUpdateEvent {
  return { ...common, RequestType: 'Update', PhysicalResourceId: PHYSICAL_ID, ResourceProperties: props as never, OldResourceProperties: oldProps as never };
}

export function deleteEvent(props: Partial<CheckProperties> & { BucketName: string }): CloudFormationCustomResourceDeleteEvent {
  return { ...common, RequestType: 'Delete', PhysicalResourceId: PHYSICAL_ID, ResourceProperties: properties(props) as never };
}

export function stackDeleteEvent(props: unknown): CloudFormationCustomResourceDeleteEvent {
  return { ...common, RequestType: 'Delete', PhysicalResourceId: PHYSICAL_ID, ResourceProperties: props as never };
}

export type AnyEvent = CloudFormationCustomResourceEvent;
