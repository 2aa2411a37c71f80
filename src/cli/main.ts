import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { EXIT_USAGE } from '../util/errors.js';
import { configureColor, reportError } from './output.js';
import { registerCerts } from './commands/certs.js';
import { registerDeploy } from './commands/deploy.js';
import { registerRemove } from './commands/remove.js';
import { registerInit } from './commands/init.js';
import { registerInventory } from './commands/inventory.js';
import { registerKubeconfig } from './commands/kubeconfig.js';
import { registerVerifyCerts } from './commands/verify-certs.js';
import { registerPlan } from './commands/plan.js';
import { registerBinaries } from './commands/binaries.js';
import { registerReset } from './commands/reset.js';
import { registerEtcd } from './commands/etcd.js';
import { registerLab } from './commands/lab.js';
import { registerUpgrade } from './commands/upgrade.js';

const packageVersion = (): string => (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export const buildProgram = (): Command => {
  const program = new Command('kubeinstall')
    .description('Install a production-grade Kubernetes cluster from plain binaries over SSH.')
    .version(packageVersion(), '-V, --version')
    .option('--no-color', 'plain output (also when NO_COLOR is set)')
    .option('--debug', 'show stack traces')
    .showSuggestionAfterError()
    .exitOverride()
    .hook('preAction', (cmd) => configureColor(cmd.optsWithGlobals().color !== false));
  registerInit(program);
  registerInventory(program);
  registerCerts(program);
  registerBinaries(program);
  registerPlan(program);
  registerDeploy(program);
  registerUpgrade(program);
  registerRemove(program);
  registerVerifyCerts(program);
  registerKubeconfig(program);
  registerReset(program);
  registerEtcd(program);
  registerLab(program);
  program.addHelpText(
    'after',
    '\nExample:\n  kubeinstall init inventory -o inventory.yaml && kubeinstall certs -i inventory.yaml && kubeinstall deploy -i inventory.yaml',
  );
  return program;
};

export const main = async (argv: string[]): Promise<number> => {
  const debug = argv.includes('--debug');
  configureColor(!argv.includes('--no-color'));
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander; it has already printed them
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : EXIT_USAGE;
    }
    return reportError(err, debug);
  }
};
