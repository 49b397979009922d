// The chat page: joins as a guest (read only) or logs in, then talks Bayeux
// through the project's own client (served at /client.js).
import { BayeuxClient } from '/client.js';

const $ = (id) => document.getElementById(id);
const STATES = {
  disconnected: 'Not connected',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
};
let client;
/** While the page is away (reconnecting): messages published then are marked as missed when they arrive. */
let awaySince;
let backAt;
let missedShown = false;

function showState() {
  const state = client?.state ?? 'disconnected';
  if (state === 'reconnecting' && awaySince === undefined) {
    awaySince = Date.now();
    backAt = undefined;
    missedShown = false;
  }
  if (state === 'connected' && awaySince !== undefined && backAt === undefined) backAt = Date.now();
  const el = $('state');
  el.dataset.state = state;
  el.dataset.transport = client?.transport ?? '';
  el.textContent = state === 'connected' ? `Connected via ${client.transport}` : STATES[state];
}

function notice(text, className) {
  const li = document.createElement('li');
  li.className = className;
  li.textContent = text;
  $('messages').append(li);
}

function addMessage({ user, text, time }) {
  // Replayed from the room's history after the page came back (express-bayeux/client resumes by itself).
  const missed = awaySince !== undefined && time >= awaySince && (backAt === undefined || time < backAt);
  if (missed && !missedShown) {
    notice('While you were away', 'away');
    missedShown = true;
  }
  const li = document.createElement('li');
  if (user === 'Autobot') li.className = 'bot';
  if (missed) li.classList.add('missed');
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = new Date(time ?? Date.now()).toLocaleTimeString();
  const who = document.createElement('span');
  who.className = 'user';
  who.textContent = user ?? '?';
  li.append(meta, who, document.createTextNode(text ?? ''));
  $('messages').append(li);
  li.scrollIntoView({ block: 'end' });
}

function showPresence(names) {
  $('presence').replaceChildren(
    ...names.map((name) => {
      const li = document.createElement('li');
      li.textContent = name;
      return li;
    }),
  );
}

async function enter(name, loggedIn) {
  client = new BayeuxClient(new URL('/cometd', location.href).href, { ext: { name } });
  client.on('state', showState);
  client.on('transport', showState);
  // The room's history no longer holds what the page missed: say so rather than pretend.
  client.on('gap', () => notice('Some messages were missed while you were away (reload to see the room as it is)', 'gap'));
  await client.connect();
  await client.subscribe('/chat/demo', (m) => addMessage(m.data));
  await client.subscribe('/chat/presence', (m) => showPresence(m.data.online));
  showPresence(await client.call('/service/who'));
  $('join').hidden = true;
  $('room').hidden = false;
  $('who-am-i').textContent = loggedIn ? `Logged in as ${name}` : `Guest: ${name} (read only)`;
  $('text').focus();
}

$('guest-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('join-error').textContent = '';
  try {
    await enter($('guest-name').value.trim(), false);
  } catch (err) {
    $('join-error').textContent = `Could not join: ${err.message}`;
  }
});

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('join-error').textContent = '';
  const res = await fetch('/login', { method: 'POST', body: new URLSearchParams(new FormData(event.target)) });
  const body = await res.json();
  if (!res.ok) {
    $('join-error').textContent = body.error ?? 'Login failed';
    return;
  }
  try {
    await enter(body.username, true);
  } catch (err) {
    $('join-error').textContent = `Could not join: ${err.message}`;
  }
});

$('post-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('post-error').textContent = '';
  const text = $('text').value;
  try {
    await client.publish('/chat/demo', { text });
    $('text').value = '';
  } catch (err) {
    $('post-error').textContent = `Not sent: ${err.message}`;
  }
});

$('leave').addEventListener('click', async () => {
  await client?.disconnect();
  await fetch('/logout', { method: 'POST' });
  location.reload();
});

showState();
