// Small pieces shared by the pages: htm bound to Preact, a hook that loads from the API, and
// the run's events and outcome as a person reads them.
import { h } from 'preact';
import { useEffect, useState, useCallback } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

// Loads `fn()` when `deps` change: {data, error, loading, reload}.
export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function Problem({ error }) {
  if (!error) return null;
  return html`<p class="problem" role="alert">${error.code ? `${error.code}: ` : ''}${error.message}</p>`;
}

export function Loading({ what }) {
  return html`<p class="muted" aria-live="polite">Loading ${what}…</p>`;
}

const bytes = (n) => (n >= 1 << 20 ? `${n / (1 << 20)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} bytes`);

// The limits of an outcome or a plan in plain words.
export function LimitsList({ limits }) {
  if (!limits) return null;
  const rows = [
    ['Wall time', limits.wall_time_ms !== undefined ? `${limits.wall_time_ms / 1000} s` : null],
    ['CPU time', limits.cpu_time_ms !== undefined ? `${limits.cpu_time_ms / 1000} s` : null],
    ['Memory', limits.memory_bytes !== undefined ? bytes(limits.memory_bytes) : null],
    ['Processes', limits.pids],
    ['Output per stream', limits.output_bytes !== undefined ? bytes(limits.output_bytes) : null],
    ['Largest file', limits.file_size_bytes !== undefined ? bytes(limits.file_size_bytes) : null],
    ['Scratch space', limits.scratch_bytes !== undefined ? bytes(limits.scratch_bytes) : null],
    ['Open files', limits.open_files],
  ].filter(([, v]) => v !== null && v !== undefined);
  return html`<dl class="pairs">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${String(v)}</dd>`)}</dl>`;
}

// One line of what an event says.
function describe(e) {
  switch (e.type) {
    case 'accepted': return `accepted ${e.kind} of ${e.skill}`;
    case 'planned': return `planned: ${e.runtime} runtime, lock ${e.lock}, sandbox ${e.sandbox_level}`;
    case 'decided': return `policy: ${e.effect}${e.summary ? ` (${e.summary})` : ''}`;
    case 'approval_requested': return `waiting for approval (risk ${e.risk?.level ?? 'unknown'})`;
    case 'approval_decided': return `approval: ${e.decision} via ${e.via}${e.message ? ` (${e.message})` : ''}`;
    case 'started': return `started inside: ${(e.layers || []).join(', ')}`;
    case 'output': return `${e.stream}: ${e.data}`;
    case 'egress': return `egress: ${JSON.stringify(e.egress)}`;
    case 'finished': return `finished: ${e.status}${e.error ? ` (${e.error.message})` : ''}`;
    case 'gap': return `${e.dropped} events were dropped`;
    default: return e.type;
  }
}

export function EventList({ events }) {
  return html`<ol class="events" aria-label="Run events" aria-live="polite">
    ${events.map((e) => html`<li key=${e.seq} class=${`event event-${e.type}`} data-type=${e.type}>
      <span class="seq">${e.seq}</span> <span class="etype">${e.type}</span>
      <span class="what">${describe(e)}</span></li>`)}
  </ol>`;
}

export function OutcomeView({ outcome, error }) {
  if (error) return html`<section class="outcome" aria-label="Outcome"><h3>Outcome</h3><${Problem} error=${error} /></section>`;
  if (!outcome) return null;
  return html`<section class="outcome" aria-label="Outcome">
    <h3>Outcome: <span class=${`status status-${outcome.status}`} data-testid="outcome-status">${outcome.status}</span></h3>
    <dl class="pairs">
      <dt>Exit code</dt><dd>${outcome.exit_code ?? '—'}</dd>
      <dt>Duration</dt><dd>${outcome.duration_ms} ms</dd>
      <dt>Limits hit</dt><dd>${(outcome.limits_hit || []).join(', ') || 'none'}</dd>
      <dt>Sandbox layers</dt><dd>${(outcome.layers || []).join(', ') || '—'}</dd>
      ${outcome.message ? html`<dt>Message</dt><dd>${outcome.message}</dd>` : null}
    </dl>
    ${outcome.output ? html`<h4>Output</h4><pre class="output" data-testid="outcome-output">${JSON.stringify(outcome.output, null, 2)}</pre>` : null}
    ${!outcome.output && outcome.stdout ? html`<h4>stdout</h4><pre class="output">${outcome.stdout}</pre>` : null}
    ${outcome.stderr ? html`<h4>stderr</h4><pre class="output">${outcome.stderr}</pre>` : null}
    <details><summary>Limits in force</summary><${LimitsList} limits=${outcome.limits} /></details>
  </section>`;
}
