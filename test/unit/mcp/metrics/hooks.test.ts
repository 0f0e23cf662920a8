import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { AuditMetrics, ToolCallMetrics } from '../../../../mcp/metrics/index.ts';
import { find, parseExposition, valueOf } from './exposition.ts';

test('tool calls are counted by tool and outcome; declared tools start at 0', async () => {
  const registry = new Registry();
  const tools = new ToolCallMetrics(registry);
  tools.declare(['get_system_status', 'list_resources']);
  tools.onToolCall('get_system_status', 'ok', 0.02);
  tools.onToolCall('get_system_status', 'ok', 0.03);
  tools.recordToolCall('list_resources', 'denied', -1);
  const s = parseExposition(await registry.metrics());
  assert.equal(valueOf(s, 'systemmanager_mcp_tool_calls_total', { tool: 'get_system_status', outcome: 'ok' }), 2);
  assert.equal(valueOf(s, 'systemmanager_mcp_tool_calls_total', { tool: 'list_resources', outcome: 'denied' }), 1);
  assert.equal(valueOf(s, 'systemmanager_mcp_tool_calls_total', { tool: 'list_resources', outcome: 'invalid' }), 0);
  assert.equal(valueOf(s, 'systemmanager_mcp_tool_call_duration_seconds_count', { tool: 'get_system_status' }), 2);
  assert.equal(valueOf(s, 'systemmanager_mcp_tool_call_duration_seconds_sum', { tool: 'list_resources' }), 0, 'a negative duration counts as 0');
});

test('tool names that are not plain identifiers, and names past the cap, are counted as "other"', async () => {
  const registry = new Registry();
  const tools = new ToolCallMetrics(registry);
  tools.onToolCall('../etc/passwd', 'ok', 0.1);
  tools.onToolCall('Robert"); DROP', 'ok', 0.1);
  for (let i = 0; i < 300; i++) tools.onToolCall(`tool_${i}`, 'ok', 0.1);
  const s = parseExposition(await registry.metrics());
  const tools_ = new Set(find(s, 'systemmanager_mcp_tool_calls_total').map((x) => x.labels.tool));
  assert.ok(tools_.size <= 257, `at most 256 names plus other, got ${tools_.size}`);
  assert.equal(valueOf(s, 'systemmanager_mcp_tool_calls_total', { tool: 'other', outcome: 'ok' }), 2 + 300 - 256);
});

test('audit appends are counted by action and outcome, failures apart, odd actions as other', async () => {
  const registry = new Registry();
  const audit = new AuditMetrics(registry);
  audit.record({ action: 'proposal.approved', outcome: 'allowed' });
  audit.record({ action: 'proposal.approved', outcome: 'allowed' });
  audit.record({ action: 'access.denied', outcome: 'denied' });
  audit.record({ action: 'Weird Action!', outcome: 'maybe' });
  audit.record({ action: 'proposal.created', outcome: 'allowed' }, new Error('disk full'));
  const s = parseExposition(await registry.metrics());
  assert.equal(valueOf(s, 'systemmanager_audit_events_total', { action: 'proposal.approved', outcome: 'allowed' }), 2);
  assert.equal(valueOf(s, 'systemmanager_audit_events_total', { action: 'other', outcome: 'other' }), 1);
  assert.equal(valueOf(s, 'systemmanager_audit_write_failures_total'), 1);
  assert.deepEqual(find(s, 'systemmanager_audit_events_total', { action: 'proposal.created' }), [], 'a failed append is not an event');
});
