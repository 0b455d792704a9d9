/**
 * Where in the organisation an `S3EncryptionGuardrails` policy is attached: the root, an
 * organizational unit, or a member account. A policy attached to the root or an OU applies to
 * every account below it.
 */
export class OrganizationTarget {
  /** The organisation's root (`r-` followed by 4 to 32 lowercase letters or digits). */
  public static root(rootId: string): OrganizationTarget {
    return new OrganizationTarget('root', rootId);
  }

  /** An organizational unit (`ou-` + 4 to 32 characters of the root id + `-` + 8 to 32 characters). */
  public static organizationalUnit(organizationalUnitId: string): OrganizationTarget {
    return new OrganizationTarget('organizationalUnit', organizationalUnitId);
  }

  /**
   * A member account (12 digits). Policies attached to the management account have no effect
   * on it: SCPs and RCPs never restrict the management account.
   */
  public static account(accountId: string): OrganizationTarget {
    return new OrganizationTarget('account', accountId);
  }

  /**
   * @param kind `root`, `organizationalUnit` or `account`
   * @param targetId the id as Organizations writes it
   */
  private constructor(public readonly kind: string, public readonly targetId: string) {}
}

/** The id formats AWS Organizations documents for each kind of target (CreatePolicy/AttachPolicy). */
export const TARGET_ID_FORMATS: Readonly<Record<string, { pattern: RegExp; example: string }>> = {
  root: { pattern: /^r-[0-9a-z]{4,32}$/, example: 'r-ab12' },
  organizationalUnit: { pattern: /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/, example: 'ou-ab12-cd34ef56' },
  account: { pattern: /^\d{12}$/, example: '123456789012' },
};
