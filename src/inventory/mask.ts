// Secrets never reach a terminal: the resolved model keeps the schema's field names, so a field the
// schema marks secret is masked wherever it sits (top-level ssh, per host, bastion).
import { inventorySchema, secretFieldNames } from './schema.js';

export const MASK = '********';

const SECRET_FIELDS = secretFieldNames(inventorySchema);

/** A copy of plain data with every secret field's value replaced by MASK. */
export const maskSecrets = <T>(value: T): T =>
  JSON.parse(JSON.stringify(value, (key, v: unknown) => (SECRET_FIELDS.has(key) && typeof v === 'string' ? MASK : v))) as T;
