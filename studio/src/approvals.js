// The approvals inbox: what each waiting run asks for, its risk and reasons, and the four
// answers. Shown only to tokens that may approve (the API refuses the others too).
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { html, useLoad, Problem, Loading, LimitsList } from './ui.js';

const ANSWERS = [
  ['approve', 'Approve once'],
  ['approve_session', 'Approve for the session'],
  ['approve_always', 'Approve always'],
  ['deny', 'Deny'],
];

function Names({ label, items }) {
  if (!items || (Array.isArray(items) && items.length === 0)) return null;
  return html`<li><strong>${label}:</strong> ${Array.isArray(items) ? items.join(', ') : String(items)}</li>`;
}

function Request({ approval, onAnswered }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const caps = approval.request?.capabilities || {};
  const risk = approval.risk || { level: 'unknown', reasons: [] };
  const answer = async (decision) => {
    setBusy(true);
    try {
      await api(`/approvals/${encodeURIComponent(approval.run_id)}`, { method: 'POST', body: { decision } });
      onAnswered();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const titleId = `approval-${approval.run_id}`;
  return html`<li class="card approval" aria-labelledby=${titleId} data-run-id=${approval.run_id}>
    <h3 id=${titleId}>${approval.skill} <span class="muted">run <code>${approval.run_id}</code></span></h3>
    <p><span class=${`badge risk-${risk.level}`}>risk ${risk.level}</span>
      <span class="muted"> waiting since ${new Date(approval.since).toLocaleTimeString()}, denied at ${new Date(approval.deadline).toLocaleTimeString()}</span></p>
    ${risk.reasons.length ? html`<ul class="reasons">${risk.reasons.map((r) => html`<li><strong>${r.level}</strong> ${r.reason} <code>${r.command}</code></li>`)}</ul>` : null}
    <h4>It asks to</h4>
    <ul>
      <li><strong>Run:</strong> <code>${(approval.invocation?.argv || []).join(' ')}</code> (${approval.invocation?.kind})</li>
      <li><strong>Runtime:</strong> ${approval.request?.runtime}, sandbox ${approval.request?.sandbox_level}</li>
      <${Names} label="Read" items=${caps.read} />
      <${Names} label="Write" items=${caps.write} />
      <li><strong>Network:</strong> ${caps.network === true || (Array.isArray(caps.network) && caps.network.length) ? String(caps.network) : 'none'}</li>
      <${Names} label="Commands" items=${caps.commands} />
      <${Names} label="Environment" items=${caps.env_pass} />
      <${Names} label="Secrets" items=${caps.secrets} />
    </ul>
    <details><summary>Limits</summary><${LimitsList} limits=${approval.request?.limits} /></details>
    <div class="actions" role="group" aria-label=${`Answer for run ${approval.run_id}`}>
      ${ANSWERS.map(([decision, label]) => html`<button type="button" class=${decision === 'deny' ? 'danger' : ''}
        disabled=${busy} onClick=${() => answer(decision)}>${label}</button>`)}
    </div>
    <${Problem} error=${error} />
  </li>`;
}

export function ApprovalsPage() {
  const { data, error, loading, reload } = useLoad(() => api('/approvals'), []);
  useEffect(() => {
    const timer = setInterval(reload, 2000);
    return () => clearInterval(timer);
  }, []);
  const list = data?.approvals || [];
  return html`<section aria-labelledby="approvals-title">
    <h2 id="approvals-title">Approvals</h2>
    ${loading && !data ? html`<${Loading} what="approvals" />` : null}
    <${Problem} error=${error} />
    <p class="muted" aria-live="polite">${list.length} waiting</p>
    <ul class="cards">${list.map((a) => html`<${Request} key=${a.run_id} approval=${a} onAnswered=${reload} />`)}</ul>
  </section>`;
}
