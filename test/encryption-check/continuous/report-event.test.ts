/** The report event: the fixed source and detail-type the role's conditions allow, a refused entry is an error the run logs. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { REPORT_EVENT } from '../../../src/encryption-check/continuous/types';
import { ContinuousRunReport, putReportEvent } from '../../../src/encryption-check/handler/scheduled';

const eventBridge = mockClient(EventBridgeClient);
beforeEach(() => eventBridge.reset());

const report = (messages = 1): ContinuousRunReport => ({
  trigger: 'SCHEDULE',
  stackName: 'Prod',
  buckets: [{ key: 'k1', bucket: 'b', violations: Array.from({ length: messages }, (_, i) => `violation ${i} ${'x'.repeat(200)}`), unverified: [], leftovers: 0 }],
  violations: messages,
  unverified: 0,
  incomplete: 0,
});

test('one entry on the default bus with the fixed source and detail-type, the report as detail', async () => {
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
  await putReportEvent(report());
  const calls = eventBridge.commandCalls(PutEventsCommand);
  expect(calls).toHaveLength(1);
  const entries = calls[0].args[0].input.Entries!;
  expect(entries).toHaveLength(1);
  expect(entries[0]).toEqual({ Source: REPORT_EVENT.source, DetailType: REPORT_EVENT.detailType, Detail: JSON.stringify(report()) });
  expect(entries[0].EventBusName).toBeUndefined();
});

test('a report above the event size limit is sent with counts instead of messages', async () => {
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
  await putReportEvent(report(2_000));
  const detail = JSON.parse(eventBridge.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0].Detail!);
  expect(detail).toMatchObject({ truncated: true, violations: 2_000, buckets: [{ bucket: 'b', violations: 2_000 }] });
});

test('a refused entry is an error (the run logs it and carries on)', async () => {
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException' }] });
  await expect(putReportEvent(report())).rejects.toThrow(/AccessDeniedException/);
});
