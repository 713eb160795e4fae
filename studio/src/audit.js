// The audit log: a query, and the state of its hash chain (docs/audit.md).
import { useState } from 'preact/hooks';
import { api, q } from './api.js';
import { html, useLoad, Problem, Loading } from './ui.js';

export function AuditPage() {
  const [form, setForm] = useState({ skill: '', status: '', event: '', since: '', until: '', limit: '100' });
  const [query, setQuery] = useState(form);
  const records = useLoad(() => api(`/audit${q(query)}`), [JSON.stringify(query)]);
  const verify = useLoad(() => api('/audit/verify'), []);
  const v = verify.data;
  const field = (name, label, hint) => html`<span class="filter"><label for=${`audit-${name}`}>${label}</label>
    <input id=${`audit-${name}`} value=${form[name]} placeholder=${hint || ''}
      onInput=${(e) => setForm({ ...form, [name]: e.target.value.trim() })} /></span>`;
  return html`<section aria-labelledby="audit-title">
    <h2 id="audit-title">Audit</h2>
    <section aria-labelledby="chain-title" class="card">
      <h3 id="chain-title">Hash chain</h3>
      ${verify.loading ? html`<${Loading} what="verification" />` : null}
      <${Problem} error=${verify.error} />
      ${v ? html`<p data-testid="chain-state"><span class=${`badge ${v.ok ? 'ok' : 'bad'}`}>${v.ok ? 'intact' : 'broken'}</span>
        ${v.records} records, head seq ${v.head_seq}${v.ok ? '' : html`: first bad record at line ${v.line} (${v.problem}): ${v.message}`}</p>` : null}
      <button type="button" onClick=${verify.reload}>Verify again</button>
    </section>
    <form class="toolbar" onSubmit=${(e) => { e.preventDefault(); setQuery(form); }} aria-label="Audit query">
      ${field('skill', 'Skill')} ${field('status', 'Status', 'ok, error, denied…')} ${field('event', 'Event', 'run, exec, approval…')}
      ${field('since', 'Since', '1h, 2d, 2026-12-01')} ${field('until', 'Until')} ${field('limit', 'Limit')}
      <button type="submit">Query</button>
    </form>
    ${records.loading ? html`<${Loading} what="records" />` : null}
    <${Problem} error=${records.error} />
    <div class="table-wrap"><table>
      <caption class="visually-hidden">Audit records</caption>
      <thead><tr><th scope="col">Seq</th><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Skill</th><th scope="col">Status</th><th scope="col">Record</th></tr></thead>
      <tbody>${(records.data?.records || []).map((r) => html`<tr key=${r.seq}>
        <td>${r.seq}</td><td>${r.time}</td><td>${r.event}</td><td>${r.skill}</td><td>${r.status}</td>
        <td><details><summary>JSON</summary><pre>${JSON.stringify(r, null, 2)}</pre></details></td></tr>`)}</tbody>
    </table></div>
  </section>`;
}
