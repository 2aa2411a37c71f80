import type { Command } from 'commander';
import { KubeinstallError } from '../../util/errors.js';
import { inventoryOption } from '../options.js';

/** Commands whose issues have not landed yet: they say so and exit 1, nothing more. */
export const registerNotYet = (program: Command, name: string, description: string): void => {
  program
    .command(name)
    .description(description)
    .addOption(inventoryOption())
    .allowUnknownOption()
    .addHelpText('after', `\nExample:\n  kubeinstall ${name} -i inventory.yaml`)
    .action(() => {
      throw new KubeinstallError(`${name} is not implemented yet`);
    });
};
