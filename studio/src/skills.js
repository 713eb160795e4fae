// The skills pages: the catalogue with the service's search, and one skill (its SKILL.md, what it may do,
// its lock state and files, and a run form whose run is followed live).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, followEvents, q } from './api.js';
import { renderMarkdown } from './markdown.js';
import { SchemaForm } from './schema_form.js';
import { html, useLoad, Problem, Loading, LimitsList, EventList, OutcomeView } from './ui.js';

// Why a hit matched, compactly: each method's rank among its candidates.
function why(hit) {
  const parts = [];
  if (hit.bm25) parts.push(`words #${hit.bm25.rank}`);
  if (hit.dense) parts.push(`meaning #${hit.dense.rank} (${hit.dense.score.toFixed(2)})`);
  if (hit.rerank) parts.push(`passages #${hit.rerank.rank}`);
  return `score ${hit.score.toFixed(3)}${parts.length ? ` · ${parts.join(' · ')}` : ''}`;
}

// The query as the service's hybrid search answers it (GET /v1/search), asked 250 ms after
// the last keystroke; an answer to an older query is dropped.
function useSearch(query) {
  const [state, setState] = useState({ hits: null, error: null, busy: false });
  useEffect(() => {
    const words = query.trim();
    if (!words) {
      setState({ hits: null, error: null, busy: false });
      return undefined;
    }
    let live = true;
    setState((s) => ({ ...s, busy: true }));
    const timer = setTimeout(() => {
      api(`/search${q({ q: words, top: 12 })}`).then(
        (r) => live && setState({ hits: r.hits, error: null, busy: false }),
        (error) => live && setState({ hits: null, error, busy: false }),
      );
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [query]);
  return state;
}

export function SkillsPage() {
  const { data, error, loading } = useLoad(() => api('/skills'), []);
  const [query, setQuery] = useState('');
  const search = useSearch(query);
  const byName = new Map((data?.skills || []).map((s) => [s.name, s]));
  // Hits in the search's order, with the catalogue's runtime; every skill when no query.
  // When the service cannot search (no model installed: 503), the words are matched here.
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const hasWords = (s) => words.every((w) => `${s.name} ${s.description || ''}`.toLowerCase().includes(w));
  const skills = search.hits
    ? search.hits.map((h) => ({ ...byName.get(h.name), name: h.name, description: h.description, hit: h }))
    : search.error ? (data?.skills || []).filter(hasWords)
    : query.trim() ? [] : data?.skills || [];
  return html`<section aria-labelledby="skills-title">
    <h2 id="skills-title">Skills</h2>
    <div class="toolbar" role="search">
      <label for="skill-search">Search skills</label>
      <input id="skill-search" type="search" value=${query} placeholder="describe the task in words"
        onInput=${(e) => setQuery(e.target.value)} />
    </div>
    ${loading ? html`<${Loading} what="skills" />` : null}
    <${Problem} error=${error || search.error} />
    <p class="muted" aria-live="polite" data-testid="search-state">${search.busy ? 'Searching…'
      : search.hits ? `${search.hits.length} best matches by the service's hybrid search (words and meaning)`
      : search.error ? `${skills.length} skills whose name or description has every word`
      : data ? `${data.skills.length} skills` : ''}</p>
    <ul class="cards" aria-label="Skills found">
      ${skills.map((s) => html`<li key=${s.name} class="card">
        <a href=${`#/skills/${encodeURIComponent(s.name)}`} class="card-title">${s.name}</a>
        <span class="badge">${s.runtime || (s.hit ? 'skill' : 'invalid')}</span>
        <p class="description">${s.description || s.error || ''}</p>
        ${s.hit ? html`<small class="hit-why" data-testid="hit-why">${why(s.hit)}</small>` : null}
      </li>`)}
    </ul>
  </section>`;
}

function Paths({ label, items }) {
  return html`<li><strong>${label}:</strong> ${items && items.length
    ? html`<ul class="inline">${items.map((p) => html`<li><code>${p}</code></li>`)}</ul>`
    : html`<span>none</span>`}</li>`;
}

// What the skill may do, in plain words, from its canonical grant.
function Capabilities({ grant }) {
  const c = grant?.capabilities || {};
  const secrets = Object.keys(grant?.secrets || {});
  return html`<section aria-labelledby="caps-title">
    <h3 id="caps-title">What it may do</h3>
    <ul class="capabilities">
      <${Paths} label="Read these host paths" items=${c.read} />
      <${Paths} label="Write these host paths" items=${c.write} />
      <li><strong>Network:</strong> ${c.network
        ? html`only to <ul class="inline">${(c.egress || []).map((e) => html`<li><code>${e}</code></li>`)}</ul>`
        : 'no network at all'}</li>
      <${Paths} label="Start these commands" items=${c.commands} />
      ${c.script_commands ? html`<${Paths} label="Interpreters, only to run its own files" items=${c.script_commands} />` : null}
      <${Paths} label="See these host environment variables" items=${c.env_pass} />
      <${Paths} label="Secrets it is given" items=${secrets} />
    </ul>
    <h4>Limits</h4>
    <${LimitsList} limits=${grant?.limits} />
  </section>`;
}

function InstancesView({ instances }) {
  const list = instances?.instances || [];
  return html`<section aria-labelledby="instances-title">
    <h3 id="instances-title">Instances</h3>
    ${instances?.error ? html`<p class="problem">${instances.error}</p>` : null}
    ${list.length === 0 ? html`<p class="muted">None: runs use the manifest as it is.</p>` : html`<ul>
      ${list.map((i) => html`<li><code>${i.name}</code>${i.default ? ' (default)' : ''}
        ${i.config_keys.length ? html`<br /><small>config: ${i.config_keys.join(', ')}</small>` : null}
        ${i.env.length ? html`<br /><small>environment: ${i.env.join(', ')}</small>` : null}
        ${i.secrets.length ? html`<br /><small>secrets: ${i.secrets.join(', ')}</small>` : null}</li>`)}
    </ul>`}
  </section>`;
}

function LockView({ lock }) {
  if (!lock) return null;
  const d = lock.drift;
  return html`<section aria-labelledby="lock-title">
    <h3 id="lock-title">Lock</h3>
    <p><span class=${`badge lock-${lock.state}`}>${lock.state}</span>
      ${lock.state === 'unlocked' ? ' No lock entry: runs are not checked against a recorded tree.' : ''}
      ${lock.error ? ` ${lock.error}` : ''}</p>
    ${d && lock.state === 'drifted' ? html`<ul>
      ${d.changed.length ? html`<li>Changed: ${d.changed.join(', ')}</li>` : null}
      ${d.added.length ? html`<li>Added: ${d.added.join(', ')}</li>` : null}
      ${d.removed.length ? html`<li>Removed: ${d.removed.join(', ')}</li>` : null}
      ${d.widened.length ? html`<li>Widened: ${d.widened.join(', ')}</li>` : null}
      <li>${d.allowed ? 'Runs may go ahead.' : 'Runs are refused until it is locked again.'}</li>
    </ul>` : null}
  </section>`;
}

// A run started from the form, followed live.
export function LiveRun({ runId, onDone }) {
  const [events, setEvents] = useState([]);
  const [run, setRun] = useState(null);
  const [error, setError] = useState(null);
  const [cancelling, setCancelling] = useState(false);
  useEffect(() => {
    const abort = new AbortController();
    setEvents([]);
    setRun(null);
    followEvents(`/runs/${encodeURIComponent(runId)}/events`, (e) => setEvents((list) => [...list, e]), abort.signal)
      .then(() => api(`/runs/${encodeURIComponent(runId)}`))
      .then((r) => {
        if (!abort.signal.aborted && r) {
          setRun(r);
          onDone && onDone(r);
        }
      })
      .catch((e) => !abort.signal.aborted && setError(e));
    return () => abort.abort();
  }, [runId]);
  const cancel = async () => {
    setCancelling(true);
    try {
      await api(`/runs/${encodeURIComponent(runId)}/cancel`, { method: 'POST' });
    } catch (e) {
      setError(e);
    }
  };
  const finished = events.some((e) => e.type === 'finished');
  return html`<section class="live-run" aria-labelledby="run-title">
    <h3 id="run-title">Run <code>${runId}</code> ${finished ? '' : html`<span class="badge running">running</span>`}</h3>
    ${!finished ? html`<button type="button" class="danger" onClick=${cancel} disabled=${cancelling}>Cancel run</button>` : null}
    <${Problem} error=${error} />
    <${EventList} events=${events} />
    ${run ? html`<${OutcomeView} outcome=${run.outcome} error=${run.error} />` : null}
  </section>`;
}

export function SkillPage({ name, me }) {
  const skill = useLoad(() => api(`/skills/${encodeURIComponent(name)}`), [name]);
  const details = useLoad(() => api(`/skills/${encodeURIComponent(name)}/details`), [name]);
  const doc = useLoad(() => api(`/skills/${encodeURIComponent(name)}/SKILL.md`), [name]);
  const [runId, setRunId] = useState(null);
  const [startError, setStartError] = useState(null);
  const [busy, setBusy] = useState(false);
  const docRef = useRef(null);
  useEffect(() => {
    // Sanitised nodes (markdown.js), inserted only after DOMPurify has cleaned them.
    if (docRef.current && typeof doc.data === 'string') docRef.current.replaceChildren(renderMarkdown(doc.data));
  }, [doc.data]);
  const start = async (input) => {
    setBusy(true);
    setStartError(null);
    try {
      const r = await api('/runs', { method: 'POST', body: { skill: name, input } });
      setRunId(r.run_id);
    } catch (e) {
      setStartError(e);
    } finally {
      setBusy(false);
    }
  };
  const s = skill.data;
  const d = details.data;
  return html`<article aria-labelledby="skill-title">
    <p><a href="#/skills">← All skills</a></p>
    <h2 id="skill-title">${name}</h2>
    <${Problem} error=${skill.error} />
    ${s ? html`<p class="description" data-testid="skill-description">${s.description}</p>
      <p><span class="badge">${s.runtime}</span> ${d ? html`<span class="muted">${d.tree_sha256 ? `tree ${d.tree_sha256.slice(0, 12)}` : ''}${d.inferred ? ' manifest inferred from SKILL.md' : ''}</span>` : null}</p>` : null}
    <div class="columns">
      <div class="main-col">
        <section aria-labelledby="run-form-title">
          <h3 id="run-form-title">Run it</h3>
          ${me.may.run
            ? s && !s.has_entry ? html`<p class="muted">This skill has no entry point: an agent reads its instructions, nothing runs from a form.</p>`
            : s ? html`<${SchemaForm} schema=${s.input_schema} onSubmit=${start} busy=${busy} />` : null
            : html`<p class="muted">This token may not start runs (it needs the run scope).</p>`}
          <${Problem} error=${startError} />
        </section>
        ${runId ? html`<${LiveRun} key=${runId} runId=${runId} />` : null}
        <section aria-labelledby="doc-title">
          <h3 id="doc-title">SKILL.md</h3>
          <${Problem} error=${doc.error} />
          <div class="markdown" ref=${docRef} data-testid="skill-md"></div>
        </section>
      </div>
      <aside class="side-col" aria-label="What the skill may do">
        <${Problem} error=${details.error} />
        ${d ? html`<${Capabilities} grant=${d.grant} /><${LockView} lock=${d.lock} /><${InstancesView} instances=${d.instances} />
          <section aria-labelledby="files-title"><h3 id="files-title">Files</h3>
            <ul class="files">${d.files.map((f) => html`<li><code>${f}</code></li>`)}</ul>
            ${d.files_cut ? html`<p class="muted">(more not shown)</p>` : null}</section>
          ${d.warnings.length ? html`<section><h3>Loading warnings</h3><ul>${d.warnings.map((w) => html`<li>${w}</li>`)}</ul></section>` : null}` : null}
      </aside>
    </div>
  </article>`;
}
