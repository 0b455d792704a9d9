import { BucketKey } from './bucket-key';
import { DefaultEncryption } from './default-encryption';
import { EncryptionHeaders } from './encryption-headers';
import { KmsKeyNotAlias } from './kms-key-not-alias';
import { KmsKeyRotation } from './kms-key-rotation';
import { KmsKeyViaService } from './kms-key-via-service';
import { MinimumTlsVersion } from './minimum-tls-version';
import { ServerAccessLogTarget } from './server-access-log-target';
import { SingleBucketPolicy } from './single-bucket-policy';
import { SseCBlocked } from './sse-c-blocked';
import { TlsOnly } from './tls-only';

/** Every rule of the S3EncryptionChecks pack, in report order. */
export const S3_ENCRYPTION_RULES = [
  DefaultEncryption,
  SingleBucketPolicy,
  TlsOnly,
  MinimumTlsVersion,
  SseCBlocked,
  EncryptionHeaders,
  BucketKey,
  KmsKeyRotation,
  KmsKeyViaService,
  KmsKeyNotAlias,
  ServerAccessLogTarget,
];
