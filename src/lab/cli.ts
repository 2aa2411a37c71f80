// `npm run testbed -- image` builds (or finds) the cached base image; `npm run testbed -- up ADDR...`
// starts hosts h1.. on those 127.x addresses, prints how to reach them and tears them down on Ctrl-C.
import { ensureBaseImage } from './image.js';
import { startTestbed } from './index.js';

const [command, ...args] = process.argv.slice(2);

if (command === 'image') {
  console.log(await ensureBaseImage());
} else if (command === 'up' && args.length) {
  const tb = await startTestbed({ hosts: args.map((address, i) => ({ name: `h${i + 1}`, address })) });
  for (const h of tb.hosts) console.log(`${h.name}: ssh -i ${tb.privateKeyPath} root@${h.address}   (nsenter -t ${h.leaderPid} -a)`);
  console.log(`sudo user ${tb.sudoUser.name}, password ${tb.sudoUser.password}\nknown_hosts:\n${await tb.knownHosts()}Ctrl-C stops the hosts.`);
  await new Promise<never>(() => setInterval(() => {}, 1 << 30));
} else {
  console.error('usage: npm run testbed -- image | up 127.0.2.N [127.0.2.M ...]');
  process.exit(2);
}
