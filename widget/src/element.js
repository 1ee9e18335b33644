// <ketamine-faq-chat> — the embeddable chat widget.
//
//   <script src="https://clinic.example/widget.js" defer></script>
//   <ketamine-faq-chat server-url="https://bot.clinic.example"></ketamine-faq-chat>
//
// Attributes (all optional except server-url):
//   server-url       Rasa server base URL (socket.io and REST channels)
//   socket-path      socket.io path on that server (default /socket.io)
//   transport        auto (socket.io, REST fallback; default) | socketio | rest
//   chat-title       heading of the chat panel ("title" is avoided: it would show a tooltip on the page)
//   subtitle         line under the heading when online
//   initial-payload  message sent once when a new conversation is first opened, e.g. /greet
//   open             open the panel on page load
//   storage          session (default: forgotten when the tab closes) | local (kept across visits)
//   strings          JSON object overriding any text in strings.js (locale); lang sets the language
// Theme: CSS custom properties on the element (--kfc-primary, --kfc-font, ...; see styles.js).
// Methods: open(), close(), toggle(), send(text). Events: kfc-open, kfc-close, kfc-message.
import { CSS } from './styles.js';
import { parseStrings, fmt } from './strings.js';
import { renderMarkdown, makeLink } from './markdown.js';
import { createStore, newId } from './store.js';
import { Transport } from './transport.js';
import { icon } from './icons.js';

export const MAX_LENGTH = 2000; // the bot's own limit for one message
const TYPING_TIMEOUT_MS = 25000;
// Fallback when a channel drops the response's metadata (Rasa 3.6's socket.io and REST channels do):
// the number 988 on its own, as in "call or text 988"; not "988lifeline.org" or a longer number.
const CRISIS_TEXT = /(^|[^\w-])988(?![\w-])/;

let sheet = null;
function styleFor(root) {
  // Constructable stylesheets are not blocked by a host page's CSP (no 'unsafe-inline' needed).
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function') {
    try {
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
      }
      root.adoptedStyleSheets = [sheet];
      return;
    } catch {
      /* fall through */
    }
  }
  const style = document.createElement('style');
  style.textContent = CSS;
  root.append(style);
}

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) if (c != null && c !== false) el.append(c);
  return el;
}

export class KetamineFaqChat extends HTMLElement {
  static get observedAttributes() {
    return ['open'];
  }

  constructor() {
    super();
    this._built = false;
    this._transport = null;
    this._unread = 0;
    this._typingTimer = null;
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  connectedCallback() {
    if (this._built) return;
    this._built = true;
    this.s = parseStrings(this.getAttribute('strings'));
    if (this.getAttribute('chat-title')) this.s.title = this.getAttribute('chat-title');
    if (this.getAttribute('subtitle')) this.s.subtitle = this.getAttribute('subtitle');
    this.serverUrl = (this.getAttribute('server-url') || location.origin).trim();
    this.lang = this.getAttribute('lang') || document.documentElement.lang || 'en';
    this._timeFmt = this._formatter();

    this.store = createStore(this.getAttribute('storage') === 'local' ? 'local' : 'session', `kfc:${this.serverUrl}`);
    this.state = this.store.load() || this._fresh();

    this.root = this.shadowRoot || this.attachShadow({ mode: 'open' });
    styleFor(this.root);
    this._build();
    this._renderAll();

    if (this.state.crisis) this._showCrisis(false);
    const wantOpen = this.hasAttribute('open') || this.state.open;
    if (wantOpen) this.open({ focus: false, animate: false });
    else if (this.state.outbox.length) this._ensureTransport();
    if (window.performance && performance.mark) performance.mark('kfc:ready');
    this.dispatchEvent(new CustomEvent('kfc-ready', { bubbles: true, composed: true }));
  }

  disconnectedCallback() {
    if (this._transport) this._transport.stop();
    this._transport = null;
  }

  attributeChangedCallback(name, oldValue, value) {
    if (!this._built || name !== 'open') return;
    if (value !== null) this.open();
    else this.close();
  }

  _fresh() {
    return { senderId: newId(), messages: [], outbox: [], open: false, greeted: false, crisis: false, crisisCompact: false };
  }

  _save() {
    this.store.save(this.state);
  }

  _formatter() {
    try {
      return new Intl.DateTimeFormat(this.lang, { hour: 'numeric', minute: '2-digit' });
    } catch {
      return new Intl.DateTimeFormat('en', { hour: 'numeric', minute: '2-digit' });
    }
  }

  // ---- DOM ---------------------------------------------------------------------------------------

  _build() {
    const s = this.s;
    this.badge = h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true });
    this.launcher = h(
      'button',
      {
        class: 'launcher',
        type: 'button',
        'aria-expanded': 'false',
        'aria-controls': 'kfc-panel',
        'aria-label': fmt(s.launcherAria, { title: s.title }),
        onclick: () => this.open(),
      },
      icon(document, 'chat'),
      h('span', { text: s.launcher }),
      this.badge,
    );

    this.statusText = h('span', { text: s.statusConnecting });
    this.status = h('p', { class: 'status', 'data-state': 'connecting' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), this.statusText);
    this.restartBtn = h('button', { type: 'button', class: 'restart', text: s.startOver, onclick: () => this._askRestart() });
    this.closeBtn = h('button', { type: 'button', class: 'icon close', 'aria-label': s.close, title: s.close, onclick: () => this.close() }, icon(document, 'close'));
    // A plain div, not <header>: inside the page it would count as a second "banner" landmark.
    const header = h(
      'div',
      { class: 'head' },
      h('div', { class: 'titles' }, h('h2', { id: 'kfc-title', text: s.title }), this.status),
      this.restartBtn,
      this.closeBtn,
    );

    const disclaimer = h('p', { class: 'disclaimer', id: 'kfc-disclaimer' }, `${s.disclaimer} `, makeLink(document, s.disclaimerUrl, s.disclaimerLink, s.opensNewTab));
    this.connbar = h('p', { class: 'disclaimer connbar', hidden: true, text: s.reconnectingHelp });

    // Crisis help: pinned between the header and the conversation, never scrolled away.
    this.crisisToggle = h('button', { type: 'button', 'aria-expanded': 'true', text: s.crisisHide, onclick: () => this._toggleCrisis() });
    this.crisis = h(
      'section',
      { class: 'crisis', 'aria-labelledby': 'kfc-crisis-title', hidden: true },
      h(
        'div',
        { class: 'crisis-head' },
        h('strong', { class: 'title full', id: 'kfc-crisis-title', text: s.crisisTitle }),
        h('p', { class: 'short', text: s.crisisShort }),
        this.crisisToggle,
      ),
      h(
        'div',
        { class: 'full' },
        h(
          'p',
          { class: 'actions' },
          h('a', { href: 'tel:988', text: s.crisisCall }),
          h('a', { href: 'sms:988', text: s.crisisText }),
          makeLink(document, s.crisisChatUrl, s.crisisChat, s.opensNewTab),
          h('a', { href: 'tel:911', class: 'secondary', text: s.crisisEmergency }),
        ),
        h('p', { class: 'intl', text: s.crisisIntl }),
      ),
    );
    this.crisis.querySelector('.actions a[target]').classList.add('secondary');

    this.confirmYes = h('button', { type: 'button', class: 'btn primary', text: s.confirmYes, onclick: () => this._restart() });
    this.confirmNo = h('button', { type: 'button', class: 'btn', text: s.confirmNo, onclick: () => this._cancelRestart() });
    this.confirm = h(
      'div',
      { class: 'confirm', role: 'group', 'aria-labelledby': 'kfc-confirm-text', hidden: true },
      h('p', { id: 'kfc-confirm-text', text: s.confirmStartOver }),
      h('div', { class: 'row' }, this.confirmYes, this.confirmNo),
    );

    this.log = h('div', { class: 'log', role: 'log', 'aria-live': 'off', 'aria-label': s.conversation, tabindex: '0' });
    this.typing = h('div', { class: 'typing', hidden: true, 'aria-hidden': 'true' }, h('span'), h('span'), h('span'));
    // One polite region for new bot messages and one assertive for crisis help: short, clean
    // announcements instead of the whole log with its timestamps and buttons.
    this.live = h('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'false' });
    this.alert = h('div', { class: 'sr-only', role: 'alert' });

    this.input = h('textarea', {
      id: 'kfc-input',
      rows: '1',
      maxlength: String(MAX_LENGTH),
      placeholder: s.placeholder,
      autocomplete: 'off',
      enterkeyhint: 'send',
      'aria-describedby': 'kfc-count',
    });
    this.input.addEventListener('keydown', (e) => this._onInputKey(e));
    this.input.addEventListener('input', () => this._onInput());
    this.count = h('p', { class: 'count', id: 'kfc-count', hidden: true });
    this.form = h(
      'form',
      { class: 'composer', novalidate: true, onsubmit: (e) => { e.preventDefault(); this._submit(); } },
      h('div', { class: 'field' }, h('label', { class: 'sr-only', for: 'kfc-input', text: s.inputLabel }), this.input, this.count),
      h('button', { type: 'submit', class: 'send', 'aria-label': s.send, title: s.send }, icon(document, 'send')),
    );

    this.panel = h(
      'section',
      {
        id: 'kfc-panel',
        class: 'panel',
        role: 'dialog',
        'aria-modal': 'false',
        'aria-labelledby': 'kfc-title',
        'aria-describedby': 'kfc-disclaimer',
        hidden: true,
      },
      header,
      disclaimer,
      this.connbar,
      this.crisis,
      this.confirm,
      this.log,
      this.form,
      this.live,
      this.alert,
    );
    this.panel.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      if (!this.confirm.hidden) this._cancelRestart();
      else this.close();
    });

    const wrap = h('div', { class: 'root', lang: this.lang, dir: this.getAttribute('dir') || null }, this.launcher, this.panel);
    this.root.append(wrap);
  }

  _renderAll() {
    this.log.textContent = '';
    this.log.append(h('p', { class: 'notice' }, h('strong', { text: this.s.noticeTitle }), this.s.notice));
    for (const m of this.state.messages) this.log.append(this._messageEl(m));
    this.log.append(this.typing);
    this._renderReplies();
    this._scrollToEnd();
  }

  _messageEl(m) {
    const isBot = m.from === 'bot';
    const crisis = isBot && m.crisis;
    const el = h('div', { class: `msg ${isBot ? 'bot' : 'user'}${crisis ? ' crisis-msg' : ''}${m.pending ? ' pending' : ''}`, 'data-from': m.from, 'data-id': m.id });
    const bubble = h('div', { class: 'bubble' });
    if (isBot) bubble.append(renderMarkdown(document, m.text, { newTabHint: this.s.opensNewTab }));
    else bubble.textContent = m.text; // user text is shown exactly as typed, never interpreted
    const when = new Date(m.ts);
    const time = h('time', { datetime: when.toISOString(), text: this._time(when) });
    const meta = h('p', { class: 'meta' }, `${isBot ? this.s.bot : this.s.you} · `, m.pending ? h('span', { class: 'state', text: this.s.pending }) : time);
    if (crisis) el.append(h('p', { class: 'crisis-tag', text: this.s.crisisLabel }));
    el.append(meta, bubble);
    return el;
  }

  _time(d) {
    const now = new Date();
    const t = this._timeFmt.format(d);
    if (d.toDateString() === now.toDateString()) return t;
    try {
      return `${new Intl.DateTimeFormat(this.lang, { month: 'short', day: 'numeric' }).format(d)}, ${t}`;
    } catch {
      return t;
    }
  }

  _renderReplies() {
    this.log.querySelectorAll('.replies').forEach((n) => n.remove());
    const last = this.state.messages[this.state.messages.length - 1];
    if (!last || last.from !== 'bot' || !last.buttons || !last.buttons.length) return;
    const host = this.log.querySelector(`.msg[data-id="${last.id}"]`);
    if (!host) return;
    const group = h('div', { class: 'replies', role: 'group', 'aria-label': this.s.suggested });
    for (const b of last.buttons) {
      group.append(
        h('button', {
          type: 'button',
          text: b.title,
          onclick: () => {
            this._send(b.payload, b.title);
            this.input.focus();
          },
        }),
      );
    }
    host.append(group);
  }

  _scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  // ---- open / close --------------------------------------------------------------------------

  open({ focus = true, animate = true } = {}) {
    if (!this._built) {
      this.setAttribute('open', '');
      return;
    }
    if (!this.panel.hidden) return;
    this.panel.hidden = false;
    this.panel.classList.toggle('opening', animate);
    this.launcher.hidden = true;
    this.launcher.setAttribute('aria-expanded', 'true');
    this._unread = 0;
    this._renderBadge();
    this.state.open = true;
    this._ensureTransport();
    if (!this.state.greeted) {
      this.state.greeted = true;
      const payload = this.getAttribute('initial-payload');
      if (payload) this._send(payload, null);
    }
    this._save();
    this._scrollToEnd();
    if (focus) this.input.focus();
    this.dispatchEvent(new CustomEvent('kfc-open', { bubbles: true, composed: true }));
  }

  close() {
    if (!this._built || this.panel.hidden) return;
    const hadFocus = this.root.activeElement != null;
    this.panel.hidden = true;
    this.launcher.hidden = false;
    this.launcher.setAttribute('aria-expanded', 'false');
    this.state.open = false;
    this._save();
    if (hadFocus || document.activeElement === this) this.launcher.focus();
    this.dispatchEvent(new CustomEvent('kfc-close', { bubbles: true, composed: true }));
  }

  toggle() {
    if (this.panel && !this.panel.hidden) this.close();
    else this.open();
  }

  /** Send a message as if the visitor typed it (for "Ask our assistant" buttons on the page). */
  send(text) {
    this.open({ focus: false });
    this._send(String(text || ''), String(text || ''));
  }

  // ---- transport -------------------------------------------------------------------------------

  _ensureTransport() {
    if (this._transport) return;
    const mode = this.getAttribute('transport');
    this._transport = new Transport({
      serverUrl: this.serverUrl,
      socketPath: this.getAttribute('socket-path') || '/socket.io',
      mode: mode === 'rest' || mode === 'socketio' ? mode : 'auto',
      senderId: this.state.senderId,
      onMessage: (m) => this._onBotMessage(m),
      onState: (st) => this._onState(st),
      onDelivered: (id) => this._onDelivered(id),
      getOutbox: () => this.state.outbox,
    });
    this._transport.start();
  }

  _onState(st) {
    const prev = this.status.dataset.state;
    this.status.dataset.state = st;
    this.dataset.connection = st;
    const t = this._transport;
    this.dataset.transport = t && t.confirmed ? 'socketio' : t && t.restOk ? 'rest' : '';
    this.statusText.textContent =
      st === 'online' ? this.s.subtitle || this.s.statusOnline : st === 'reconnecting' ? this.s.statusReconnecting : this.s.statusConnecting;
    this.connbar.hidden = st !== 'reconnecting';
    if (st === 'reconnecting' && prev === 'online') this._announce(this.s.announceReconnecting);
    if (st === 'online' && prev === 'reconnecting') this._announce(this.s.announceOnline);
  }

  _onInputKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      this._submit();
    }
  }

  _onInput() {
    const el = this.input;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight + 3, 120)}px`;
    const left = MAX_LENGTH - el.value.length;
    this.count.hidden = left > 200;
    this.count.textContent = fmt(this.s.charsLeft, { n: left });
  }

  _submit() {
    const text = this.input.value.trim();
    if (!text) {
      this.input.focus();
      return;
    }
    this.input.value = '';
    this._onInput();
    this._send(text.slice(0, MAX_LENGTH), text.slice(0, MAX_LENGTH));
    this.input.focus();
  }

  /** Queue `message` for the bot; `display` is what the visitor sees (null: nothing, e.g. /greet). */
  _send(message, display) {
    if (!message.trim()) return;
    const id = newId();
    if (display != null) {
      this.state.messages.push({ id, from: 'user', text: display, ts: Date.now(), pending: true });
      this._renderReplies(); // suggestions belong to the previous turn; remove them
      this.log.insertBefore(this._messageEl(this.state.messages[this.state.messages.length - 1]), this.typing);
      this._scrollToEnd();
    }
    this.state.outbox.push({ id, message });
    this._save();
    this._ensureTransport();
    if (this._transport.usable) this._setTyping(true);
    this._transport.flush();
  }

  _onDelivered(id) {
    const before = this.state.outbox.length;
    this.state.outbox = this.state.outbox.filter((o) => o.id !== id);
    if (this.state.outbox.length === before) return;
    const m = this.state.messages.find((x) => x.id === id);
    if (m && m.pending) {
      delete m.pending;
      const old = this.log.querySelector(`.msg[data-id="${id}"]`);
      if (old) old.replaceWith(this._messageEl(m));
    }
    this._save();
    if (this.typing.hidden) this._setTyping(true);
  }

  _setTyping(on) {
    clearTimeout(this._typingTimer);
    this.typing.hidden = !on;
    if (on) {
      this._typingTimer = setTimeout(() => this._setTyping(false), TYPING_TIMEOUT_MS);
      this._scrollToEnd();
    }
  }

  _onBotMessage(msg) {
    const crisis = msg.crisis || CRISIS_TEXT.test(msg.text);
    if (!msg.text && !msg.buttons.length) {
      if (crisis) this._showCrisis(true); // a flag-only message (custom payload) still raises the banner
      return;
    }
    const m = { id: newId(), from: 'bot', text: msg.text, buttons: msg.buttons, ts: Date.now() };
    if (crisis) m.crisis = true;
    this.state.messages.push(m);
    this._setTyping(false);
    this.log.insertBefore(this._messageEl(m), this.typing);
    this._renderReplies();
    this._scrollToEnd();
    if (crisis) this._showCrisis(true);
    this._announce(`${this.s.bot}: ${msg.text}${msg.buttons.length ? `. ${this.s.suggested}: ${msg.buttons.map((b) => b.title).join(', ')}` : ''}`);
    if (this.panel.hidden) {
      this._unread += 1;
      this._renderBadge();
    }
    this._save();
    this.dispatchEvent(new CustomEvent('kfc-message', { bubbles: true, composed: true, detail: { text: msg.text, crisis } }));
  }

  _renderBadge() {
    this.badge.hidden = this._unread === 0;
    this.badge.textContent = String(this._unread);
    this.launcher.setAttribute(
      'aria-label',
      fmt(this.s.launcherAria, { title: this.s.title }) + (this._unread ? ` (${fmt(this.s.newMessages, { n: this._unread })})` : ''),
    );
  }

  _announce(text) {
    const p = h('p', { text });
    this.live.append(p);
    while (this.live.childNodes.length > 4) this.live.firstChild.remove();
  }

  // ---- crisis help -------------------------------------------------------------------------------

  _showCrisis(announce) {
    const first = !this.state.crisis || this.crisis.hidden;
    this.state.crisis = true;
    this.crisis.hidden = false;
    if (announce) {
      // Expand it again on every new crisis reply, and say it out loud.
      this.state.crisisCompact = false;
      this.alert.textContent = '';
      this.alert.append(h('p', { text: `${this.s.crisisTitle} ${this.s.crisisCall}, ${this.s.crisisText}. ${this.s.crisisEmergency}.` }));
    }
    this._applyCrisisCompact();
    if (first) this._save();
  }

  _toggleCrisis() {
    this.state.crisisCompact = !this.state.crisisCompact;
    this._applyCrisisCompact();
    this._save();
  }

  _applyCrisisCompact() {
    const compact = !!this.state.crisisCompact;
    this.crisis.classList.toggle('compact', compact);
    this.crisisToggle.textContent = compact ? this.s.crisisShow : this.s.crisisHide;
    this.crisisToggle.setAttribute('aria-expanded', String(!compact));
  }

  // ---- start over --------------------------------------------------------------------------------

  _askRestart() {
    this.confirm.hidden = false;
    this.confirmNo.focus();
  }

  _cancelRestart() {
    this.confirm.hidden = true;
    this.restartBtn.focus();
  }

  _restart() {
    this.confirm.hidden = true;
    this.store.clear();
    this.state = this._fresh();
    this.state.open = true;
    this.crisis.hidden = true;
    this.alert.textContent = '';
    this._setTyping(false);
    this._renderAll();
    if (this._transport) this._transport.restart(this.state.senderId);
    this.state.greeted = true;
    const payload = this.getAttribute('initial-payload');
    if (payload) this._send(payload, null);
    this._save();
    this.input.focus();
  }
}

export function define(name = 'ketamine-faq-chat') {
  if (!customElements.get(name)) customElements.define(name, KetamineFaqChat);
}
