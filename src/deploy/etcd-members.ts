// How each etcd member starts in a deploy, from what the hosts hold and what the cluster lists: pure, so
// every case is tested without hosts.

/**
 * - `start`: a member with data the cluster lists (or no member answers): start it as planned.
 * - `new`: no member holds data and none answers: a new cluster, every member started together.
 * - `join`: a member without data while a cluster exists: member add, first start, promote (one the
 *   cluster lists as started lost its data: it is removed and added anew, never restarted under its old identity).
 * - `rejoin`: a member with data the running cluster no longer lists (it was removed): its data is
 *   moved aside, then it joins.
 */
export type MemberStart = 'start' | 'new' | 'join' | 'rejoin';

export const startKind = (listed: boolean, hasData: boolean, anyData: boolean, clusterAnswered: boolean): MemberStart => {
  if (hasData) return clusterAnswered && !listed ? 'rejoin' : 'start';
  return anyData || clusterAnswered ? 'join' : 'new';
};

/** `member add --learner` and `member promote` came with etcd 3.4. */
export const etcdHasLearners = (version: string): boolean => {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 3 || (major === 3 && minor >= 4);
};
