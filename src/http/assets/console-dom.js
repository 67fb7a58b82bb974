// DOM helpers of the console: elements from a description, labelled form controls with an error slot
// each, and the words and times the pages share.

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked') node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let ids = 0;

/**
 * A labelled control inside `div.field[data-field=name]`, with its hint and an error slot the control
 * is described by. `control` is the input/select/textarea element.
 */
export function field(name, label, control, hint) {
  const id = control.id || `f-${name}-${++ids}`;
  control.id = id;
  const hintEl = hint ? el('span', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  const error = el('span', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  control.setAttribute('aria-describedby', [hintEl?.id, error.id].filter(Boolean).join(' '));
  const isCheck = control.type === 'checkbox';
  const labelEl = el('label', { for: id, text: label });
  return el(
    'div',
    { class: isCheck ? 'field check' : 'field', 'data-field': name },
    isCheck ? [control, labelEl] : [labelEl, control],
    hintEl,
    error,
  );
}

/** Shows `message` on the field named, or clears it (null). */
export function setFieldError(form, name, message) {
  const box = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!box) return false;
  box.querySelector('.field-error').textContent = message ?? '';
  for (const c of box.querySelectorAll('input, select, textarea')) {
    if (message) c.setAttribute('aria-invalid', 'true');
    else c.removeAttribute('aria-invalid');
  }
  box.classList.toggle('invalid', Boolean(message));
  return true;
}

export function when(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString();
}

export function ms(n) {
  return n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`;
}

export function duration(run) {
  if (!run?.finishedAt) return run ? 'running' : '';
  return ms(Date.parse(run.finishedAt) - Date.parse(run.startedAt));
}

export function plural(n, one, many) {
  return `${n.toLocaleString('en')} ${n === 1 ? one : (many ?? `${one}s`)}`;
}

export function principalHref(id) {
  return `#/principal/${encodeURIComponent(id)}`;
}

export function connectionHref(id, tail = '') {
  return `#/connections/${encodeURIComponent(id)}${tail}`;
}

/** The page's heading, focused so keyboard and screen reader users land on the new page. */
export function heading(text) {
  return el('h2', { tabindex: '-1', class: 'page-title', text });
}
