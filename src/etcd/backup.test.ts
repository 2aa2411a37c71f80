import { describe, expect, it } from 'vitest';
import { parseEndpointStatus, pickMember } from './backup.js';

describe('pickMember', () => {
  const m = (member: string, healthy: boolean, leader = false) => ({ member, healthy, leader });

  it('takes the first healthy follower, the leader only when no follower is healthy, nobody when all are down', () => {
    expect(pickMember([m('e1', true, true), m('e2', false), m('e3', true)])?.member).toBe('e3');
    expect(pickMember([m('e1', true, true), m('e2', false), m('e3', false)])?.member).toBe('e1');
    expect(pickMember([m('e1', false), m('e2', false)])).toBeUndefined();
  });
});

describe('parseEndpointStatus', () => {
  it('compares 64-bit member ids as text (JSON numbers would round them equal)', () => {
    const status = (leader: string) =>
      `[{"Endpoint":"https://198.18.1.1:2379","Status":{"header":{"cluster_id":14841639068965178418,"member_id":10276657743932975437,"revision":4},` +
      `"version":"3.4.23","dbSize":20480,"leader":${leader},"raftIndex":7}}]`;
    expect(parseEndpointStatus(status('10276657743932975437'))).toEqual({ leader: true, version: '3.4.23' });
    expect(parseEndpointStatus(status('10276657743932975436'))).toEqual({ leader: false, version: '3.4.23' });
  });
});
