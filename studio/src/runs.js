// Runs and jobs: lists with filters, one run's events and outcome, cancel and retry.
import { useState } from 'preact/hooks';
import { api, q } from './api.js';
import { LiveRun } from './skills.js';
import { html, useLoad, Problem, Loading } from './ui.js';

const RUN_STATUSES = ['', 'running', 'ok', 'error', 'timeout', 'killed', 'denied', 'cancelled', 'memory_limit', 'output_limit'];
const JOB_STATES = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead'];

// Keeps only rows whose `time` is within `since` (a value of the select below) of now.
function withinAge(time, since) {
  if (!since || !time) return true;
  return Date.now() - Date.parse(time) <= Number(since) * 1000;
}
const AGES = [['', 'any time'], ['600', 'last 10 minutes'], ['3600', 'last hour'], ['86400', 'last day']];

function Select({ id, label, value, options, onChange }) {
  return html`<span class="filter"><label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(e) => onChange(e.target.value)}>
      ${options.map((o) => (Array.isArray(o) ? html`<option value=${o[0]}>${o[1]}</option>` : html`<option value=${o}>${o || 'any'}</option>`))}
    </select></span>`;
}

// skillrt_jobs{state="..."} and skillrt_queue_ready from the Prometheus text of /v1/metrics.
function parseDepth(text) {
  const states = {};
  for (const m of String(text).matchAll(/^skillrt_jobs\{state="([a-z]+)"\} (\d+)$/gm)) states[m[1]] = Number(m[2]);
  const ready = /^skillrt_queue_ready (\d+)$/m.exec(String(text));
  return { states, ready: ready ? Number(ready[1]) : 0 };
}

export function RunsPage({ me }) {
  const [skill, setSkill] = useState('');
  const [status, setStatus] = useState('');
  const [since, setSince] = useState('');
  const { data, error, loading, reload } = useLoad(() => api(`/runs${q({ skill, status })}`), [skill, status]);
  const runs = (data?.runs || []).filter((r) => withinAge(r.started, since));
  const cancel = async (id) => {
    await api(`/runs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }).catch(() => {});
    reload();
  };
  return html`<section aria-labelledby="runs-title">
    <h2 id="runs-title">Runs</h2>
    <div class="toolbar">
      <span class="filter"><label for="runs-skill">Skill</label>
        <input id="runs-skill" value=${skill} onChange=${(e) => setSkill(e.target.value.trim())} /></span>
      <${Select} id="runs-status" label="Status" value=${status} options=${RUN_STATUSES} onChange=${setStatus} />
      <${Select} id="runs-since" label="Started" value=${since} options=${AGES} onChange=${setSince} />
      <button type="button" onClick=${reload}>Refresh</button>
    </div>
    ${loading ? html`<${Loading} what="runs" />` : null}
    <${Problem} error=${error} />
    <div class="table-wrap"><table>
      <caption class="visually-hidden">Runs started through this service, newest first</caption>
      <thead><tr><th scope="col">Run</th><th scope="col">Skill</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Duration</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${runs.map((r) => html`<tr key=${r.run_id}>
        <td><a href=${`#/runs/${encodeURIComponent(r.run_id)}`}><code>${r.run_id}</code></a></td>
        <td>${r.skill}</td><td><span class=${`status status-${r.status}`}>${r.status}</span></td>
        <td>${r.started ? new Date(r.started).toLocaleString() : ''}</td>
        <td>${r.duration_ms !== undefined ? `${r.duration_ms} ms` : ''}</td>
        <td>${!r.done && me.may.run ? html`<button type="button" class="danger" onClick=${() => cancel(r.run_id)}>Cancel</button>` : null}</td>
      </tr>`)}</tbody>
    </table></div>
    ${data && runs.length === 0 ? html`<p class="muted">No runs match.</p>` : null}
  </section>`;
}

export function RunPage({ id }) {
  return html`<article><p><a href="#/runs">← All runs</a></p><h2>Run</h2><${LiveRun} runId=${id} /></article>`;
}

export function JobsPage({ me }) {
  const [state, setState] = useState('');
  const [skill, setSkill] = useState('');
  const [since, setSince] = useState('');
  const [actionError, setActionError] = useState(null);
  const { data, error, loading, reload } = useLoad(() => api(`/jobs${q({ state, limit: 200 })}`), [state]);
  const metrics = useLoad(() => api('/ready'), []);
  // The queue's depth by state, from the service's metrics (all jobs, not only those listed).
  const depth = useLoad(() => api('/metrics').then(parseDepth), [data]);
  const jobs = (data?.jobs || []).filter((j) => (!skill || j.skill === skill) && withinAge(j.created, since));
  const act = async (id, what) => {
    setActionError(null);
    try {
      await api(`/jobs/${encodeURIComponent(id)}/${what}`, { method: 'POST' });
    } catch (e) {
      setActionError(e);
    }
    reload();
  };
  return html`<section aria-labelledby="jobs-title">
    <h2 id="jobs-title">Jobs</h2>
    <${Problem} error=${metrics.error} />
    ${metrics.data && !metrics.data.jobs ? html`<p class="muted">This service runs no job queue.</p>` : null}
    ${depth.data ? html`<dl class="pairs depth" aria-label="Queue depth">
      <dt>Ready to run now</dt><dd>${depth.data.ready}</dd>
      ${Object.entries(depth.data.states).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}
    </dl>` : null}
    <div class="toolbar">
      <${Select} id="jobs-state" label="State" value=${state} options=${JOB_STATES} onChange=${setState} />
      <span class="filter"><label for="jobs-skill">Skill</label>
        <input id="jobs-skill" value=${skill} onChange=${(e) => setSkill(e.target.value.trim())} /></span>
      <${Select} id="jobs-since" label="Created" value=${since} options=${AGES} onChange=${setSince} />
      <button type="button" onClick=${reload}>Refresh</button>
    </div>
    ${loading ? html`<${Loading} what="jobs" />` : null}
    <${Problem} error=${error || actionError} />
    <div class="table-wrap"><table>
      <caption class="visually-hidden">Jobs, newest first</caption>
      <thead><tr><th scope="col">Job</th><th scope="col">Skill</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Worker</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${jobs.map((j) => html`<tr key=${j.id}>
        <td>${j.run_id ? html`<a href=${`#/runs/${encodeURIComponent(j.run_id)}`}><code>${j.id}</code></a>` : html`<code>${j.id}</code>`}</td>
        <td>${j.skill}</td><td><span class=${`status status-${j.state}`}>${j.state}</span>${j.error ? html`<br /><small>${j.error}</small>` : null}</td>
        <td>${j.attempts} / ${j.max_attempts}</td><td>${j.worker || ''}</td>
        <td>${new Date(j.created).toLocaleString()}</td>
        <td>${me.may.run && (j.state === 'queued' || j.state === 'running') ? html`<button type="button" class="danger" onClick=${() => act(j.id, 'cancel')}>Cancel</button>` : null}
          ${me.may.run && ['failed', 'cancelled', 'dead'].includes(j.state) ? html`<button type="button" onClick=${() => act(j.id, 'retry')}>Retry</button>` : null}</td>
      </tr>`)}</tbody>
    </table></div>
  </section>`;
}
