/**
 * The admin dashboard: a thin client of the admin API (`/admin/api`, relative to this page). No framework: state in
 * a few variables, the DOM built with `h()` (never innerHTML, so names from the directory are always text).
 */
const TOKEN_KEY = 'scim-admin-token';
const PAGE_SIZE = 20;

/** The tabs: which list each shows and its columns. */
const TABS = {
  licensed: { title: 'Licensed members', kind: 'accounts', query: { license: 'licensed' }, empty: 'No account holds a license.' },
  free: { title: 'Free managed accounts', kind: 'accounts', query: { managed: 'true', license: 'free' }, empty: 'No free managed accounts.' },
  deactivated: { title: 'Deactivated', kind: 'accounts', query: { status: 'deactivated' }, empty: 'No deactivated accounts.' },
  pending: { title: 'Pending deletion', kind: 'accounts', query: { status: 'pending_deletion' }, empty: 'No deletion is scheduled.' },
  requests: { title: 'Access requests', kind: 'requests', empty: 'No open access requests.' },
  audit: { title: 'Audit log', kind: 'audit', empty: 'Nothing has happened yet.' },
};

/** The account actions of the API, with the words of their confirmation dialog. */
const ACTIONS = {
  'grant-license': { label: 'Grant license', done: 'Granted a license to', explain: 'takes one Enterprise seat and gets access to the Enterprise workspaces.' },
  'revoke-license': { label: 'Revoke license', done: 'Revoked the license of', explain: 'loses Enterprise access and frees a seat; the account stays active.', danger: true },
  deactivate: { label: 'Deactivate', done: 'Deactivated', explain: 'can no longer log in, their sessions end and their seat is freed. Their content stays attributed to them.', danger: true },
  reactivate: { label: 'Reactivate', done: 'Reactivated', explain: 'can log in again; a license comes back when they are entitled to one and a seat is free.' },
  suspend: { label: 'Suspend', done: 'Suspended', explain: 'loses access to the site and its license; the account itself is not changed.', danger: true },
  unsuspend: { label: 'Unsuspend', done: 'Unsuspended', explain: 'gets site access back (and a license when entitled and a seat is free).' },
  remove: { label: 'Remove', done: 'Removed', explain: 'loses site access, license and group memberships, and must be invited again.', danger: true },
  invite: { label: 'Invite', done: 'Invited', explain: 'is invited back to the site; access starts at their next sign-in.' },
  'schedule-deletion': { label: 'Schedule deletion', done: 'Scheduled the deletion of', explain: 'is deactivated now and deleted for good when the grace period ends, unless the deletion is cancelled.', danger: true },
  'cancel-deletion': { label: 'Cancel deletion', done: 'Cancelled the deletion of', explain: 'is no longer deleted; the account stays deactivated until it is reactivated.' },
};

/** The actions that make sense for an account in a tab, given its state. */
function actionsFor(tab, a) {
  const list = [];
  const active = a.accountStatus === 'active';
  if (tab === 'licensed') {
    list.push('revoke-license');
    if (a.managed && active) list.push('deactivate');
    if (!a.managed && a.siteAccess === 'active') list.push('suspend');
    if (!a.managed) list.push('remove');
  } else if (tab === 'free') {
    if (active && a.siteAccess === 'active') list.push('grant-license');
    if (a.siteAccess === 'suspended') list.push('unsuspend');
    if (a.siteAccess === 'removed') list.push('invite');
    if (active) list.push('deactivate');
    list.push('schedule-deletion');
  } else if (tab === 'deactivated') {
    list.push('reactivate', 'schedule-deletion');
  } else if (tab === 'pending') {
    list.push('cancel-deletion');
  }
  return list;
}

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(TOKEN_KEY);
let currentTab = 'licensed';
const startIndex = Object.fromEntries(Object.keys(TABS).map((t) => [t, 1]));
let renderSeq = 0;

/** Creates an element: `h('td', { class: 'x', onclick: f }, 'text', child)`. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// --- API --------------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

async function errorOf(res) {
  let detail = res.statusText || 'request failed';
  try {
    const body = await res.json();
    if (body && body.detail) detail = body.detail;
  } catch {
    /* not JSON: keep the status text */
  }
  return new ApiError(res.status, detail);
}

/** Calls the admin API with the bearer token; throws ApiError with the API's detail on any non-2xx answer. */
async function api(path, { method = 'GET', body, raw = false, bearer = token } = {}) {
  let res;
  try {
    res = await fetch(`api/${path}`, {
      method,
      cache: 'no-store',
      headers: { Authorization: `Bearer ${bearer}`, Accept: raw ? 'text/csv' : 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError(0, 'the server could not be reached');
  }
  if (!res.ok) throw await errorOf(res);
  if (raw) return res;
  return res.status === 204 ? null : res.json();
}

const qs = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined)).toString();

// --- messages ---------------------------------------------------------------------------------------------------

function showError(error) {
  if (error instanceof ApiError && error.status === 401) return signOut('Your admin token is no longer accepted; sign in again.');
  const text = error instanceof ApiError ? (error.status ? `${error.detail} (HTTP ${error.status})` : `Error: ${error.detail}`) : `Error: ${error.message}`;
  $('banner-text').textContent = text;
  $('banner').hidden = false;
}

function clearError() {
  $('banner').hidden = true;
  $('banner-text').textContent = '';
}

function announce(text) {
  $('status').textContent = text;
}

// --- formatting -------------------------------------------------------------------------------------------------

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const formatDate = (iso) => (iso ? dateFormat.format(new Date(iso)) : 'Never');
const nameOf = (a) => a.displayName || a.userName || a.id;
const WORDS = {
  active: 'Active', deactivated: 'Deactivated', pending_deletion: 'Pending deletion', deleted: 'Deleted',
  licensed: 'Licensed', free: 'Free', revoked: 'Revoked', pending_seat: 'Waiting for a seat',
  invited: 'Invited', suspended: 'Suspended', removed: 'Removed',
};
const word = (value) => WORDS[value] ?? value;

/** A person: name (struck through, with a "D" badge, when deactivated) and the userName below it. */
function person(a) {
  const deactivated = a.accountStatus === 'deactivated';
  const name = h('span', { class: deactivated ? 'name is-deactivated' : 'name' }, nameOf(a));
  const badge = deactivated ? [h('span', { class: 'badge-d', title: 'Deactivated', 'aria-hidden': 'true' }, 'D'), h('span', { class: 'visually-hidden' }, ' (deactivated)')] : [];
  const sub = a.userName && a.userName !== nameOf(a) ? h('span', { class: 'sub' }, a.userName) : null;
  return h('div', { class: 'person' }, h('span', { class: 'person-line' }, name, badge), sub);
}

const pill = (value) => h('span', { class: `pill pill-${value}` }, word(value));

// --- seats and organization -------------------------------------------------------------------------------------

async function loadSeats() {
  const { seats, used, available } = await api('seats');
  $('seat-gauge').textContent = `${used} / ${seats}`;
  $('seat-available').textContent = `${available} available`;
  const fill = $('seat-bar-fill');
  fill.style.width = `${seats > 0 ? Math.min(100, (used / seats) * 100) : 0}%`;
  fill.classList.toggle('full', seats > 0 && used >= seats);
}

async function loadOrganization() {
  const org = await api('organization');
  $('org-name').textContent = [org.name, ...(org.domains ?? [])].join(' · ');
}

// --- tables -----------------------------------------------------------------------------------------------------

function setHead(columns) {
  const thead = $('table').tHead;
  thead.replaceChildren(h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c))));
}

function setPager(total, start, shown) {
  const first = shown === 0 ? 0 : start;
  const last = start + shown - 1;
  $('page-info').textContent = total === 0 ? 'No results' : `${first}–${last} of ${total}`;
  $('prev').disabled = start <= 1;
  $('next').disabled = last >= total;
  $('panel-summary').textContent = `${total} ${total === 1 ? 'entry' : 'entries'}`;
  const empty = $('empty');
  empty.hidden = total > 0;
  empty.textContent = TABS[currentTab].empty;
  $('table').hidden = total === 0;
}

function actionButtons(tab, account, names) {
  return h(
    'div',
    { class: 'row-actions' },
    names.map((action) =>
      h(
        'button',
        {
          type: 'button',
          class: ACTIONS[action].danger ? 'small danger' : 'small',
          'aria-label': `${ACTIONS[action].label}: ${nameOf(account)}`,
          onclick: () => runAction(account, action),
        },
        ACTIONS[action].label,
      ),
    ),
  );
}

function accountRow(tab, a) {
  const cells = [h('td', {}, person(a)), h('td', {}, pill(a.accountStatus)), h('td', {}, pill(a.license)), h('td', {}, pill(a.siteAccess))];
  if (tab === 'deactivated') {
    // `deactivatedBy` is "<kind>:<id>"; a directory connection id is long, so show its kind and a short id (full id on hover).
    const [byKind, ...byRest] = (a.deactivatedBy ?? '').split(':');
    const byId = byRest.join(':');
    const by = a.deactivatedBy ? h('span', { class: 'sub block', title: a.deactivatedBy }, `by ${byKind} ${shortId(byId)}`) : null;
    cells.push(h('td', { class: 'nowrap' }, formatDate(a.deactivatedAt), by));
  }
  else if (tab === 'pending') cells.push(h('td', { class: 'nowrap' }, formatDate(a.deletionDue)));
  else cells.push(h('td', { class: 'nowrap' }, formatDate(a.lastActive)));
  cells.push(h('td', {}, actionButtons(tab, a, actionsFor(tab, a))));
  return h('tr', { 'data-account': a.id }, cells);
}

async function renderAccounts(tab, seq) {
  const start = startIndex[tab];
  const data = await api(`accounts?${qs({ ...TABS[tab].query, startIndex: start, count: PAGE_SIZE })}`);
  if (seq !== renderSeq) return;
  const extra = tab === 'deactivated' ? ['Deactivated'] : tab === 'pending' ? ['Deletion due'] : ['Last active'];
  setHead(['Name', 'Account', 'License', 'Site access', ...extra, 'Actions']);
  $('table').tBodies[0].replaceChildren(...data.accounts.map((a) => accountRow(tab, a)));
  setPager(data.totalResults, start, data.accounts.length);
}

async function renderRequests(seq) {
  const start = startIndex.requests;
  const data = await api(`access-requests?${qs({ status: 'open', startIndex: start, count: PAGE_SIZE })}`);
  if (seq !== renderSeq) return;
  setHead(['Name', 'Account', 'License', 'Message', 'Requested', 'Actions']);
  const rows = data.requests.map((r) => {
    const a = r.account;
    const label = nameOf(a);
    const decide = (decision) =>
      confirmThen(
        decision === 'approve' ? 'Approve access request' : 'Deny access request',
        decision === 'approve' ? `Approve the request of ${label}? Their access comes back (a license needs a free seat).` : `Deny the request of ${label}? Nothing changes for the account.`,
        decision === 'approve' ? 'Approve' : 'Deny',
        async () => {
          await api(`access-requests/${encodeURIComponent(r.id)}/${decision}`, { method: 'POST', body: {} });
          return `${decision === 'approve' ? 'Approved' : 'Denied'} the access request of ${label}.`;
        },
      );
    return h(
      'tr',
      { 'data-request': r.id },
      h('td', {}, person(a)),
      h('td', {}, a.accountStatus ? pill(a.accountStatus) : '—'),
      h('td', {}, a.license ? pill(a.license) : '—'),
      h('td', { class: 'message' }, r.message ?? ''),
      h('td', { class: 'nowrap' }, formatDate(r.created)),
      h(
        'td',
        {},
        h(
          'div',
          { class: 'row-actions' },
          h('button', { type: 'button', class: 'small', 'aria-label': `Approve: ${label}`, onclick: () => decide('approve') }, 'Approve'),
          h('button', { type: 'button', class: 'small danger', 'aria-label': `Deny: ${label}`, onclick: () => decide('deny') }, 'Deny'),
        ),
      ),
    );
  });
  $('table').tBodies[0].replaceChildren(...rows);
  setPager(data.totalResults, start, data.requests.length);
}

/** "license: licensed → revoked, accountStatus: active → deactivated" */
function changeOf(event) {
  const before = event.before ?? {};
  const after = event.after ?? {};
  const show = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));
  const parts = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (!(key in after)) continue;
    if (key in before && show(before[key]) === show(after[key])) continue;
    parts.push(key in before ? `${key}: ${show(before[key])} → ${show(after[key])}` : `${key}: ${show(after[key])}`);
  }
  return parts.join(', ');
}

async function renderAudit(seq) {
  const start = startIndex.audit;
  const data = await api(`audit?${qs({ startIndex: start, count: PAGE_SIZE })}`);
  // Name the user subjects of this page (deactivated ones struck through, like everywhere else).
  const ids = [...new Set(data.events.filter((e) => e.subject?.kind === 'user').map((e) => e.subject.id))];
  const people = new Map(
    (await Promise.all(ids.map((id) => api(`accounts/${encodeURIComponent(id)}`).catch(() => null)))).filter(Boolean).map((a) => [a.id, a]),
  );
  if (seq !== renderSeq) return;
  setHead(['When', 'Actor', 'Action', 'Subject', 'Change']);
  const rows = data.events.map((e) => {
    const subject = people.get(e.subject?.id);
    return h(
      'tr',
      {},
      h('td', { class: 'nowrap' }, formatDate(e.at)),
      h('td', {}, h('span', { class: 'actor' }, e.actor?.kind ?? ''), h('span', { class: 'mono sub', title: e.actor?.id ?? '' }, shortId(e.actor?.id))),
      h('td', { class: 'mono' }, e.action),
      h('td', {}, subject ? person(subject) : h('span', { class: 'mono sub', title: e.subject?.id ?? '' }, `${e.subject?.kind ?? ''} ${shortId(e.subject?.id)}`)),
      h('td', { class: 'change' }, changeOf(e)),
    );
  });
  $('table').tBodies[0].replaceChildren(...rows);
  setPager(data.totalResults, start, data.events.length);
}

// Ids of directory connections are "<orgId>:<uuid>": the last part is the one that tells them apart.
const shortId = (id) => {
  const last = (id ?? '').split(':').pop();
  return last.length > 14 ? `${last.slice(0, 12)}…` : last;
};

async function renderTab() {
  const seq = ++renderSeq;
  const tab = currentTab;
  $('panel-title').textContent = TABS[tab].title;
  $('table-caption').textContent = TABS[tab].title;
  $('panel').setAttribute('aria-busy', 'true');
  try {
    if (TABS[tab].kind === 'accounts') await renderAccounts(tab, seq);
    else if (tab === 'requests') await renderRequests(seq);
    else await renderAudit(seq);
    // A page emptied by an action: show the previous one.
    if (seq === renderSeq && startIndex[tab] > 1 && $('table').tBodies[0].rows.length === 0) {
      startIndex[tab] = Math.max(1, startIndex[tab] - PAGE_SIZE);
      await renderTab();
    }
  } catch (error) {
    showError(error);
  } finally {
    if (seq === renderSeq) $('panel').removeAttribute('aria-busy');
  }
}

function selectTab(tab, { focus = false } = {}) {
  currentTab = tab;
  for (const button of document.querySelectorAll('[role="tab"]')) {
    const selected = button.dataset.tab === tab;
    button.setAttribute('aria-selected', String(selected));
    button.tabIndex = selected ? 0 : -1;
    if (selected) {
      $('panel').setAttribute('aria-labelledby', button.id);
      if (focus) button.focus();
    }
  }
  announce('');
  clearError();
  return renderTab();
}

// --- actions ----------------------------------------------------------------------------------------------------

/** Asks in the confirmation dialog; resolves true when confirmed. */
function confirmDialog(title, text, okLabel, danger) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  const ok = $('confirm-ok');
  ok.textContent = okLabel;
  ok.className = danger ? 'danger' : 'primary';
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
    dialog.showModal();
  });
}

async function confirmThen(title, text, okLabel, work, danger = false) {
  const opener = document.activeElement;
  if (!(await confirmDialog(title, text, okLabel, danger))) return;
  clearError();
  try {
    announce(await work());
    await Promise.all([loadSeats(), renderTab()]);
  } catch (error) {
    showError(error);
    await loadSeats().catch(() => undefined);
  }
  // The row may be gone: keep keyboard users in the panel rather than on <body>.
  if (opener && opener.isConnected) opener.focus();
  else $('panel').focus();
}

function runAction(account, action) {
  const { label, done, explain, danger } = ACTIONS[action];
  const who = nameOf(account);
  return confirmThen(`${label}: ${who}?`, `${who} ${explain}`, label, async () => {
    await api(`accounts/${encodeURIComponent(account.id)}/${action}`, { method: 'POST', body: {} });
    return `${done} ${who}.`;
  }, danger);
}

/** CSV exports: a plain link cannot carry the bearer token, so fetch the file and hand the browser a Blob. */
async function download(kind, button) {
  clearError();
  button.disabled = true;
  try {
    const res = await api(`exports/${kind}.csv`, { raw: true });
    const url = URL.createObjectURL(await res.blob());
    const link = h('a', { href: url, download: `${kind}-${new Date().toISOString().slice(0, 10)}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    announce(`Downloaded ${kind}.csv.`);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

// --- sign-in ----------------------------------------------------------------------------------------------------

function signOut(message = '') {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message;
  $('token').value = '';
  $('token').setAttribute('aria-invalid', String(Boolean(message)));
  $('token').focus();
}

async function enter() {
  $('signin').hidden = true;
  $('app').hidden = false;
  clearError();
  await Promise.all([loadSeats(), loadOrganization(), selectTab(currentTab)]).catch(showError);
}

async function signIn(event) {
  event.preventDefault();
  const candidate = $('token').value.trim();
  const error = $('signin-error');
  if (!candidate) {
    error.textContent = 'Enter an admin token.';
    return;
  }
  const button = event.submitter ?? $('signin-form').querySelector('button');
  button.disabled = true;
  error.textContent = '';
  try {
    await api('seats', { bearer: candidate });
    token = candidate;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    $('token').removeAttribute('aria-invalid');
    await enter();
    document.querySelector('[role="tab"][aria-selected="true"]')?.focus();
  } catch (e) {
    $('token').setAttribute('aria-invalid', 'true');
    error.textContent =
      e instanceof ApiError && e.status === 401
        ? `That admin token was not accepted: ${e.detail}`
        : `Could not sign in: ${e instanceof ApiError ? e.detail : e.message}`;
  } finally {
    button.disabled = false;
  }
}

// --- wiring -----------------------------------------------------------------------------------------------------

function onTabKey(event) {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const index = tabs.indexOf(event.target);
  if (index < 0) return;
  const moves = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 };
  let next;
  if (event.key in moves) next = tabs[(index + moves[event.key] + tabs.length) % tabs.length];
  else if (event.key === 'Home') next = tabs[0];
  else if (event.key === 'End') next = tabs[tabs.length - 1];
  if (!next) return;
  event.preventDefault();
  selectTab(next.dataset.tab, { focus: true });
}

function init() {
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', () => signOut());
  $('banner-close').addEventListener('click', clearError);
  const tabs = $('tabs');
  tabs.addEventListener('click', (event) => {
    const button = event.target.closest('[role="tab"]');
    if (button) selectTab(button.dataset.tab);
  });
  tabs.addEventListener('keydown', onTabKey);
  $('prev').addEventListener('click', () => {
    startIndex[currentTab] = Math.max(1, startIndex[currentTab] - PAGE_SIZE);
    renderTab();
  });
  $('next').addEventListener('click', () => {
    startIndex[currentTab] += PAGE_SIZE;
    renderTab();
  });
  for (const button of document.querySelectorAll('[data-export]')) {
    button.addEventListener('click', () => download(button.dataset.export, button));
  }
  if (token) enter();
  else signOut();
}

init();
