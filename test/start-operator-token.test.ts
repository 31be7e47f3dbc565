import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dashboardConfig } from '@moodstream/dashboard';
import { demoOperatorAccess } from '../scripts/start/operator-token';

/** `npm start`'s one line on who may act on the demo's dashboard, and the token it makes when exposed. */
describe('npm start operator access', () => {
  it('on loopback: no token, this machine acts', () => {
    const access = demoOperatorAccess('127.0.0.1', {});
    assert.deepEqual(access.env, {});
    assert.match(access.line, /from this machine only; set DASHBOARD_OPERATOR_TOKEN/);
  });

  it('exposed without a token: a fresh token the dashboard config accepts, printed once', () => {
    const a = demoOperatorAccess('0.0.0.0', {});
    const b = demoOperatorAccess('0.0.0.0', { DASHBOARD_OPERATOR_TOKEN: '' });
    const token = a.env['DASHBOARD_OPERATOR_TOKEN'] ?? '';
    assert.match(token, /^[0-9a-f]{48}$/);
    assert.notEqual(token, b.env['DASHBOARD_OPERATOR_TOKEN']);
    assert.ok(a.line.endsWith(token));
    assert.equal(dashboardConfig({ DASHBOARD_OPERATOR_TOKEN: token }).DASHBOARD_OPERATOR_TOKEN, token);
  });

  it('a configured token is kept and never printed', () => {
    const access = demoOperatorAccess('0.0.0.0', { DASHBOARD_OPERATOR_TOKEN: 'configured-secret-0123456789' });
    assert.deepEqual(access.env, {});
    assert.doesNotMatch(access.line, /configured-secret/);
  });

  it('refuses a short configured token at boot', () => {
    assert.throws(() => dashboardConfig({ DASHBOARD_OPERATOR_TOKEN: 'short' }), /16 characters/);
  });
});
