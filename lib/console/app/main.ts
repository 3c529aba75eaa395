import { ApiError, get, setToken, token } from './api.js';
import { h } from './dom.js';
import { consumersPage, groupPage, subscriptionPage } from './pages/consumers.js';
import type { Page } from './pages/page.js';
import { producePage, recordsPage } from './pages/records.js';
import { topicPage, topicsPage } from './pages/topics.js';

/**
 * The console's shell: a hash router (#/topics, #/topics/{name}, #/groups, #/groups/{name},
 * #/subscriptions/{name}, #/records, #/produce), a sign-in form when the API asks for
 * credentials, and a refresh of the open page every few seconds.
 */

const REFRESH_MS = 2000;
const pageEl = document.getElementById('page') as HTMLElement;
const banner = document.getElementById('banner') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;
let current: { page: Page; route: string } | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;

function route(): Promise<Page> | Page {
  const path = location.hash.replace(/^#/, '').split('?')[0] ?? '';
  const [, section, name] = path.split('/').map(decodeURIComponent);
  if (section === 'topics' && name) return topicPage(name);
  if (section === 'groups' && name) return groupPage(name);
  if (section === 'groups') return consumersPage();
  if (section === 'subscriptions' && name) return subscriptionPage(name);
  if (section === 'records') return recordsPage();
  if (section === 'produce') return producePage();
  return topicsPage();
}

function showError(error: unknown): void {
  if (error instanceof ApiError && error.status === 401) {
    signIn(error.message);
    return;
  }
  banner.textContent = error instanceof Error ? error.message : String(error);
  banner.hidden = false;
}

async function refresh(): Promise<void> {
  const open = current;
  if (open?.page.refresh === undefined) return;
  try {
    await open.page.refresh();
    if (current === open) banner.hidden = true;
  } catch (error) {
    if (current === open) showError(error);
  }
  if (current === open) timer = setTimeout(refresh, REFRESH_MS);
}

async function show(): Promise<void> {
  clearTimeout(timer);
  const key = location.hash;
  const section = key.split('/')[1]?.split('?')[0] ?? 'topics';
  const tab = section === 'subscriptions' ? 'groups' : section || 'topics';
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle('active', a.getAttribute('href') === `#/${tab}`);
  }
  try {
    const page = await route();
    if (location.hash !== key) return;
    current = { page, route: key };
    pageEl.replaceChildren(page.el);
    banner.hidden = true;
    await refresh();
  } catch (error) {
    showError(error);
  }
}

function signIn(reason: string): void {
  clearTimeout(timer);
  current = undefined;
  const input = h('input', {
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    placeholder: 'elk_… or a JWT',
  });
  pageEl.replaceChildren(
    h(
      'section',
      {},
      h('h1', {}, 'Sign in'),
      h('p', { class: 'muted' }, reason),
      h(
        'form',
        {
          class: 'panel',
          onsubmit: (e: Event) => {
            e.preventDefault();
            setToken(input.value.trim());
            void start();
          },
        },
        h('label', {}, 'API key or JWT'),
        input,
        h('div', { class: 'wide' }, h('button', { type: 'submit' }, 'Sign in')),
        h(
          'p',
          { class: 'wide muted' },
          'Kept in this tab only (sessionStorage) and sent as Authorization: Bearer.',
        ),
      ),
    ),
  );
}

async function start(): Promise<void> {
  try {
    const me = await get<{ principal: string }>('/v1/whoami');
    who.replaceChildren(
      me.principal,
      token() === null
        ? ''
        : h(
            'button',
            {
              class: 'secondary',
              type: 'button',
              onclick: () => {
                setToken(null);
                location.reload();
              },
            },
            'Sign out',
          ),
    );
    await show();
  } catch (error) {
    showError(error);
  }
}

window.addEventListener('hashchange', () => void show());
void start();
