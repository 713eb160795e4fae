// Agent runs (docs/agent.md): the list read from their event logs, and one run as a
// conversation: the task, the model's words, each tool call with its arguments, approvals,
// the skill run it started (its engine events nested under it) and its result, and how the run
// ended. A run still being written is followed live. The model's and the task's text is
// untrusted: rendered by renderUntrusted (HTML in it shows as text), everything else as text.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, followEvents, q } from './api.js';
import { renderUntrusted } from './markdown.js';
import { html, useLoad, Problem, Loading, EventList } from './ui.js';

const STATUSES = ['', 'finished', 'failed', 'cancelled', 'unfinished'];
const ENDS = new Set(['finished', 'failed', 'cancelled']);
const isEnd = (e) => ENDS.has(e.type);
const tokens = (u) => (u ? (u.input_tokens || 0) + (u.output_tokens || 0) : 0);

export function AgentRunsPage() {
  const [status, setStatus] = useState('');
  const { data, error, loading, reload } = useLoad(() => api(`/agent-runs${q({ status, limit: 200 })}`), [status]);
  const runs = data?.agent_runs || [];
  return html`<section aria-labelledby="agent-runs-title">
    <h2 id="agent-runs-title">Agent runs</h2>
    <p class="muted">Runs of <code>skillrt agent</code> under this service's home, newest first, read from their event logs.</p>
    <div class="toolbar">
      <span class="filter"><label for="agent-runs-status">Status</label>
        <select id="agent-runs-status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
          ${STATUSES.map((s) => html`<option value=${s}>${s || 'any'}</option>`)}
        </select></span>
      <button type="button" onClick=${reload}>Refresh</button>
    </div>
    ${loading ? html`<${Loading} what="agent runs" />` : null}
    <${Problem} error=${error} />
    <div class="table-wrap"><table class="agent-runs">
      <caption class="visually-hidden">Agent runs, newest first</caption>
      <thead><tr><th scope="col">Run</th><th scope="col">Task</th><th scope="col">Model</th><th scope="col">Started</th>
        <th scope="col">Status</th><th scope="col">Turns</th><th scope="col">Tool calls</th><th scope="col">Tokens</th></tr></thead>
      <tbody>${runs.map((r) => html`<tr key=${r.run_id} data-agent-run=${r.run_id}>
        <td><a href=${`#/agent-runs/${encodeURIComponent(r.run_id)}`}><code>${r.run_id}</code></a></td>
        <td class="task">${r.task}</td><td>${r.model}</td>
        <td>${r.started ? new Date(r.started).toLocaleString() : ''}</td>
        <td><span class=${`status status-${r.status}`} title=${r.reason || ''}>${r.status}</span></td>
        <td class="num">${r.turns}</td><td class="num">${r.tool_calls}</td><td class="num">${tokens(r.usage)}</td>
      </tr>`)}</tbody>
    </table></div>
    ${data && runs.length === 0 ? html`<p class="muted">No agent runs${status ? ` with status ${status}` : ''}.</p>` : null}
  </section>`;
}

// Untrusted text (a model's, a task's) as sanitised Markdown whose HTML is shown as text.
function Untrusted({ text, testid }) {
  const ref = useRef(null);
  useEffect(() => {
    if (ref.current) ref.current.replaceChildren(renderUntrusted(text || ''));
  }, [text]);
  return html`<div class="markdown said" ref=${ref} data-testid=${testid}></div>`;
}

// The events as the page shows them: messages and tool calls in order, each call gathering
// its approvals, its skill run's events and its result.
function conversation(events) {
  const items = [];
  const calls = new Map();
  let ending = null;
  let started = null;
  for (const e of events) {
    switch (e.type) {
      case 'started':
        started = e;
        items.push({ kind: 'user', key: `u${e.seq}`, text: e.task });
        break;
      case 'model_response':
        if (e.text) items.push({ kind: 'assistant', key: `a${e.seq}`, text: e.text, turn: e.turn, usage: e.usage });
        else items.push({ kind: 'turn', key: `t${e.seq}`, turn: e.turn, usage: e.usage });
        break;
      case 'model_retry':
        items.push({ kind: 'note', key: `r${e.seq}`, text: `model request retried (HTTP ${e.http_status}, after ${e.delay_ms} ms)` });
        break;
      case 'tool_call': {
        const call = { kind: 'call', key: `c${e.seq}`, id: e.tool_call_id, name: e.name, args: e.arguments, approvals: [], skill: [], result: null, skillRun: null };
        calls.set(e.tool_call_id, call);
        items.push(call);
        break;
      }
      case 'approval_requested':
      case 'approval_decided':
        calls.get(e.tool_call_id)?.approvals.push(e);
        break;
      case 'skill_event': {
        const call = calls.get(e.tool_call_id);
        if (call && e.event) {
          call.skill.push(e.event);
          call.skillRun = call.skillRun || e.event.run_id || null;
        }
        break;
      }
      case 'tool_result': {
        const call = calls.get(e.tool_call_id);
        if (call) {
          call.result = e;
          if (e.skill_run) call.skillRun = e.skill_run;
        }
        break;
      }
      default:
        if (ENDS.has(e.type)) ending = e;
    }
  }
  return { items, ending, started };
}

function Approval({ e }) {
  return e.type === 'approval_requested'
    ? html`<li>Approval asked (key <code>${String(e.approval_key || '').slice(0, 12)}</code>)</li>`
    : html`<li>Approval: <strong>${e.decision}</strong> via ${e.via}${e.message ? ` (${e.message})` : ''}</li>`;
}

function ToolCall({ call, serviceRuns }) {
  const r = call.result;
  const titleId = `call-${call.key}`;
  const args = typeof call.args === 'string' ? call.args : JSON.stringify(call.args, null, 2);
  return html`<li class="turn call" aria-labelledby=${titleId} data-tool-call=${call.id}>
    <h3 id=${titleId} class="who">Tool call <code>${call.name}</code> <span class="muted">${call.id}</span></h3>
    <h4>Arguments</h4>
    <pre class="output" data-testid="tool-arguments">${args}</pre>
    ${call.approvals.length ? html`<ul class="approvals">${call.approvals.map((e) => html`<${Approval} e=${e} />`)}</ul>` : null}
    ${call.skillRun ? html`<section class="skill-run" aria-label=${`Skill run ${call.skillRun}`}>
      <h4>Skill run ${serviceRuns.has(call.skillRun)
        ? html`<a href=${`#/runs/${encodeURIComponent(call.skillRun)}`}><code>${call.skillRun}</code></a>`
        : html`<code>${call.skillRun}</code> <span class="muted">(run by the agent's own engine; its events are below)</span>`}</h4>
      <details open=${call.skill.length <= 12}><summary>${call.skill.length} engine events</summary>
        <${EventList} events=${call.skill} /></details>
    </section>` : null}
    ${r ? html`<h4>Result${r.status ? html` <span class=${`status status-${r.status}`} data-testid="tool-status">${r.status}</span>` : null}${
        r.is_error ? html` <span class="badge bad">error</span>` : null}${
        typeof r.duration_ms === 'number' ? html` <span class="muted">${Math.round(r.duration_ms)} ms</span>` : null}</h4>
      <pre class="output" data-testid="tool-result">${r.text}</pre>` : html`<p class="muted">Waiting for the result…</p>`}
  </li>`;
}

function Ending({ e }) {
  if (!e) return html`<p class="badge running" role="status" data-testid="agent-unfinished">still running, or its process ended without a last event</p>`;
  return html`<section class="card ending" aria-label="How the run ended">
    <h3>Ended: <span class=${`status status-${e.type}`} data-testid="agent-status">${e.type}</span></h3>
    <dl class="pairs">
      <dt>Turns</dt><dd>${e.turns}</dd><dt>Tool calls</dt><dd>${e.tool_calls}</dd>
      <dt>Tokens</dt><dd>${e.usage?.input_tokens ?? 0} in, ${e.usage?.output_tokens ?? 0} out</dd>
      <dt>Duration</dt><dd>${e.duration_ms} ms</dd>
      ${e.reason ? html`<dt>Why</dt><dd>${e.reason}</dd>` : null}
    </dl>
  </section>`;
}

export function AgentRunPage({ id }) {
  const { data, error, loading, reload } = useLoad(() => api(`/agent-runs/${encodeURIComponent(id)}`), [id]);
  const [live, setLive] = useState([]);
  const [streamError, setStreamError] = useState(null);
  const unfinished = data && data.summary.status === 'unfinished';
  useEffect(() => {
    if (!unfinished) return undefined;
    const abort = new AbortController();
    const after = data.events.length ? data.events[data.events.length - 1].seq : 0;
    setLive([]);
    followEvents(`/agent-runs/${encodeURIComponent(id)}/events?after=${after}`,
      (e) => setLive((list) => [...list, e]), abort.signal, isEnd)
      .then(() => !abort.signal.aborted && reload())
      .catch((e) => !abort.signal.aborted && setStreamError(e));
    return () => abort.abort();
  }, [data]);
  const events = data ? [...data.events, ...live.filter((e) => e.seq > (data.events.at(-1)?.seq ?? 0))] : [];
  const { items, ending, started } = conversation(events);
  const serviceRuns = new Set(data?.service_runs || []);
  const s = data?.summary;
  return html`<article aria-labelledby="agent-run-title">
    <p><a href="#/agent-runs">← All agent runs</a></p>
    <h2 id="agent-run-title">Agent run <code>${id}</code></h2>
    ${loading && !data ? html`<${Loading} what="the agent run" />` : null}
    <${Problem} error=${error || streamError} />
    ${s ? html`<dl class="pairs summary" aria-label="Summary">
      <dt>Model</dt><dd>${s.model}${started ? html` <span class="muted">(${started.protocol}, profile ${started.profile})</span>` : null}</dd>
      <dt>Started</dt><dd>${s.started ? new Date(s.started).toLocaleString() : ''}</dd>
      <dt>Tools offered</dt><dd>${(started?.tools || []).join(', ') || '—'}</dd>
    </dl>` : null}
    ${data ? html`<ol class="conversation" aria-label="Conversation">
      ${items.map((it) => {
        if (it.kind === 'user') return html`<li key=${it.key} class="turn user"><h3 class="who">Task</h3><${Untrusted} text=${it.text} testid="task-text" /></li>`;
        if (it.kind === 'assistant') return html`<li key=${it.key} class="turn assistant"><h3 class="who">Model <span class="muted">turn ${it.turn} · ${tokens(it.usage)} tokens</span></h3><${Untrusted} text=${it.text} testid="model-text" /></li>`;
        if (it.kind === 'turn') return html`<li key=${it.key} class="turn note muted">Model, turn ${it.turn}: asks for tools (${tokens(it.usage)} tokens)</li>`;
        if (it.kind === 'note') return html`<li key=${it.key} class="turn note muted">${it.text}</li>`;
        return html`<${ToolCall} key=${it.key} call=${it} serviceRuns=${serviceRuns} />`;
      })}
    </ol>
    <${Ending} e=${ending} />` : null}
  </article>`;
}
