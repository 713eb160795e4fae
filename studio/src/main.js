// The studio's shell: sign-in with a pasted token (kept in memory only), navigation by the
// URL's fragment (#/skills, #/skills/NAME, #/runs, #/runs/ID, #/agent-runs, #/agent-runs/ID,
// #/approvals, #/jobs, #/audit),
// and the pages a token's scope allows.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { AgentRunPage, AgentRunsPage } from './agent_runs.js';
import { api, setToken, signedIn } from './api.js';
import { ApprovalsPage } from './approvals.js';
import { AuditPage } from './audit.js';
import { JobsPage, RunPage, RunsPage } from './runs.js';
import { SkillPage, SkillsPage } from './skills.js';
import { html, Problem } from './ui.js';
import './style.css';

function useRoute() {
  const read = () => (location.hash.replace(/^#\/?/, '') || 'skills').split('/').map(decodeURIComponent);
  const [route, setRoute] = useState(read());
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function SignIn({ onSignedIn }) {
  const [text, setText] = useState('');
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setToken(text.trim());
    try {
      const me = await api('/whoami');
      setText('');
      onSignedIn(me);
    } catch (err) {
      setToken(null);
      setError(err);
    }
  };
  return html`<main id="main" class="signin">
    <h1>skillrt studio</h1>
    <form onSubmit=${submit} aria-labelledby="signin-title">
      <h2 id="signin-title">Sign in</h2>
      <p>Paste a token made with <code>skillrt token create --scope read|run|approve|admin</code>.
        It is kept in this tab's memory only: reloading the page signs you out.</p>
      <label for="token">Token</label>
      <input id="token" type="password" autocomplete="off" spellcheck="false" value=${text}
        onInput=${(e) => setText(e.target.value)} required />
      <button type="submit">Sign in</button>
      <${Problem} error=${error} />
    </form>
  </main>`;
}

const NAV = [
  ['skills', 'Skills', () => true],
  ['runs', 'Runs', () => true],
  ['agent-runs', 'Agent runs', () => true],
  ['jobs', 'Jobs', () => true],
  ['approvals', 'Approvals', (me) => me.may.approve],
  ['audit', 'Audit', (me) => me.may.admin],
];

function Page({ route, me }) {
  const [page, arg] = route;
  const allowed = NAV.find(([key]) => key === page);
  if (allowed && !allowed[2](me)) {
    return html`<p class="problem" role="alert">This token's scope (${me.scope}) does not allow this page.</p>`;
  }
  switch (page) {
    case 'skills': return arg ? html`<${SkillPage} name=${arg} me=${me} key=${arg} />` : html`<${SkillsPage} />`;
    case 'runs': return arg ? html`<${RunPage} id=${arg} key=${arg} />` : html`<${RunsPage} me=${me} />`;
    case 'agent-runs': return arg ? html`<${AgentRunPage} id=${arg} key=${arg} />` : html`<${AgentRunsPage} />`;
    case 'jobs': return html`<${JobsPage} me=${me} />`;
    case 'approvals': return html`<${ApprovalsPage} />`;
    case 'audit': return html`<${AuditPage} />`;
    default: return html`<p>No page ${page}. <a href="#/skills">Skills</a></p>`;
  }
}

function App() {
  const [me, setMe] = useState(null);
  const route = useRoute();
  if (!me || !signedIn()) return html`<${SignIn} onSignedIn=${setMe} />`;
  const signOut = () => {
    setToken(null);
    setMe(null);
  };
  return html`<a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>Skip to content</a>
    <header class="top">
      <span class="brand">skillrt studio</span>
      <nav aria-label="Pages"><ul>
        ${NAV.filter(([, , ok]) => ok(me)).map(([key, label]) => html`<li><a href=${`#/${key}`}
          aria-current=${route[0] === key ? 'page' : undefined}>${label}</a></li>`)}
      </ul></nav>
      <span class="who">${me.name || me.id} · <span data-testid="scope">${me.scope}</span>
        <button type="button" class="link" onClick=${signOut}>Sign out</button></span>
    </header>
    <main id="main" tabindex="-1"><${Page} route=${route} me=${me} /></main>`;
}

render(html`<${App} />`, document.getElementById('app'));
