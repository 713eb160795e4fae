// A run form generated from a skill's input schema (the JSON Schema subset of
// docs/manifest.md), and its validation before anything is sent: each field says what is
// wrong next to it. The service validates again; this only spares a round trip.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);

function kindOf(schema) {
  if (Array.isArray(schema.enum)) return 'enum';
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type;
  if (t === 'array' && ['number', 'integer', 'string'].includes(schema.items?.type)) return `list-${schema.items.type}`;
  return ['string', 'integer', 'number', 'boolean'].includes(t) ? t : 'json';
}

// The value of one field from its text, or {error}.
function parseField(kind, text, schema) {
  if (kind === 'boolean') return { value: text === true };
  if (text === '' || text === undefined) return { empty: true };
  if (kind === 'string' || kind === 'enum') {
    if (kind === 'enum') {
      const found = schema.enum.find((v) => String(v) === text);
      return found === undefined ? { error: 'choose one of the values' } : { value: found };
    }
    return { value: text };
  }
  if (kind === 'integer' || kind === 'number') {
    const n = Number(text);
    if (!Number.isFinite(n) || (kind === 'integer' && !Number.isInteger(n))) {
      return { error: kind === 'integer' ? 'a whole number' : 'a number' };
    }
    return { value: n };
  }
  if (kind.startsWith('list-')) {
    const item = kind.slice(5);
    const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (item === 'string') return { value: parts };
    const nums = parts.map(Number);
    if (nums.some((n) => !Number.isFinite(n) || (item === 'integer' && !Number.isInteger(n)))) {
      return { error: `numbers separated by commas` };
    }
    return { value: nums };
  }
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: `not JSON: ${e.message}` };
  }
}

// Checks the schema's bounds on one value; returns the problem or null.
function checkBounds(value, schema) {
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) return `at least ${schema.minLength} characters`;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return `at most ${schema.maxLength} characters`;
    if (schema.pattern !== undefined) {
      try {
        if (!new RegExp(schema.pattern, 'u').test(value)) return `must match ${schema.pattern}`;
      } catch {
        // A pattern the browser cannot compile is left to the service.
      }
    }
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return `at least ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `at most ${schema.maximum}`;
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return `at least ${schema.minItems} items`;
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return `at most ${schema.maxItems} items`;
  }
  return null;
}

// Validates the texts of every field against `schema`: {input, errors}.
export function validate(schema, texts) {
  const props = schema?.properties || {};
  const required = new Set(schema?.required || []);
  const input = {};
  const errors = {};
  for (const [name, prop] of Object.entries(props)) {
    const kind = kindOf(prop);
    const parsed = parseField(kind, texts[name], prop);
    if (parsed.error) errors[name] = parsed.error;
    else if (parsed.empty) {
      if (required.has(name)) errors[name] = 'required';
    } else {
      const bad = checkBounds(parsed.value, prop);
      if (bad) errors[name] = bad;
      else input[name] = parsed.value;
    }
  }
  return { input, errors };
}

function Field({ name, schema, required, text, error, onInput }) {
  const kind = kindOf(schema);
  const id = `field-${name}`;
  const help = schema.description ? html`<span class="help" id=${`${id}-help`}>${schema.description}</span>` : null;
  const common = {
    id,
    name,
    'aria-invalid': error ? 'true' : 'false',
    'aria-describedby': [error ? `${id}-error` : '', schema.description ? `${id}-help` : ''].join(' ').trim() || undefined,
    required,
  };
  let control;
  if (kind === 'boolean') {
    control = html`<input type="checkbox" ...${common} checked=${text === true} onChange=${(e) => onInput(e.target.checked)} />`;
  } else if (kind === 'enum') {
    control = html`<select ...${common} value=${text ?? ''} onChange=${(e) => onInput(e.target.value)}>
      <option value="">(choose)</option>
      ${schema.enum.map((v) => html`<option value=${String(v)}>${String(v)}</option>`)}
    </select>`;
  } else if (kind === 'json' || (kind === 'string' && (schema.maxLength ?? 1000) > 200)) {
    control = html`<textarea ...${common} rows="3" value=${text ?? ''} onInput=${(e) => onInput(e.target.value)}></textarea>`;
  } else {
    const type = kind === 'integer' || kind === 'number' ? 'text' : 'text';
    const mode = kind === 'integer' ? 'numeric' : kind === 'number' ? 'decimal' : undefined;
    control = html`<input type=${type} inputmode=${mode} ...${common} value=${text ?? ''} onInput=${(e) => onInput(e.target.value)} />`;
  }
  const hint = kind.startsWith('list-') ? ' (comma separated)' : kind === 'json' ? ' (JSON)' : '';
  return html`<div class="field">
    <label for=${id}>${name}${required ? ' *' : ''}<span class="hint">${hint}</span></label>
    ${control} ${help}
    ${error ? html`<span class="error" id=${`${id}-error`} role="alert">${error}</span>` : null}
  </div>`;
}

// The form; onSubmit(input) is called only with input that passed validation.
export function SchemaForm({ schema, onSubmit, busy, submitLabel = 'Run' }) {
  const [texts, setTexts] = useState({});
  const [errors, setErrors] = useState({});
  const [raw, setRaw] = useState('{}');
  const props = schema?.properties;
  const required = new Set(schema?.required || []);
  const submit = (e) => {
    e.preventDefault();
    if (!props) {
      const parsed = parseField('json', raw, {});
      if (parsed.error || typeof parsed.value !== 'object' || Array.isArray(parsed.value) || parsed.value === null) {
        setErrors({ _raw: parsed.error || 'a JSON object' });
        return;
      }
      setErrors({});
      onSubmit(parsed.value);
      return;
    }
    const result = validate(schema, texts);
    setErrors(result.errors);
    if (Object.keys(result.errors).length === 0) onSubmit(result.input);
  };
  return html`<form class="run-form" onSubmit=${submit} novalidate aria-label="Run input">
    ${props
      ? Object.entries(props).map(([name, prop]) => html`<${Field} key=${name} name=${name} schema=${prop}
          required=${required.has(name)} text=${texts[name]} error=${errors[name]}
          onInput=${(v) => setTexts({ ...texts, [name]: v })} />`)
      : html`<div class="field"><label for="field-raw">Input (a JSON object; this skill declares no schema)</label>
          <textarea id="field-raw" rows="4" value=${raw} onInput=${(e) => setRaw(e.target.value)}></textarea>
          ${errors._raw ? html`<span class="error" role="alert">${errors._raw}</span>` : null}</div>`}
    <button type="submit" disabled=${busy}>${submitLabel}</button>
  </form>`;
}
