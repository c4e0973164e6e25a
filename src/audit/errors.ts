/** A failure `volume-guard audit` reports in one line on stderr, exiting 2. */
export class AuditError extends Error {
  override readonly name = 'AuditError';
}
