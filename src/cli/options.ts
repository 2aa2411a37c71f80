import { Option } from 'commander';

export const DEFAULT_INVENTORY = './inventory.yaml';

export const inventoryOption = (): Option =>
  new Option('-i, --inventory <file>', 'inventory file').env('KUBEINSTALL_INVENTORY').default(DEFAULT_INVENTORY);

export const parsePositiveInt =
  (name: string, min = 0) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min) throw new Error(`${name} must be a whole number of at least ${min}, got "${value}"`);
    return n;
  };
