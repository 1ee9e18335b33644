// Talks to Rasa: socket.io channel first (session_persistence: true), REST channel as fallback.
//
// States reported through onState: 'connecting' | 'online' | 'reconnecting'.
// A message is handed to send(); it is delivered over socket.io when connected, else over REST;
// when neither works it stays in the outbox (owned by the caller and persisted) and is flushed
// as soon as either transport comes back. Nothing typed while offline is lost.
import { io } from 'socket.io-client';

const REST_PATH = '/webhooks/rest/webhook';
const REST_HEALTH = '/webhooks/rest/';
const REST_TIMEOUT_MS = 30000;
const PROBE_EVERY_MS = 5000;

export function normalizeBotMessage(raw) {
  if (raw == null) return null;
  if (typeof raw === 'string') return { text: raw, buttons: [], crisis: false };
  if (typeof raw !== 'object') return null;
  const text = typeof raw.text === 'string' ? raw.text : '';
  const source = Array.isArray(raw.buttons) ? raw.buttons : Array.isArray(raw.quick_replies) ? raw.quick_replies : [];
  const buttons = source
    .filter((b) => b && typeof b.title === 'string' && b.title.trim())
    .slice(0, 10)
    .map((b) => ({ title: b.title, payload: typeof b.payload === 'string' ? b.payload : b.title }));
  const flagged = (o) => !!(o && typeof o === 'object' && (o.crisis === true || (o.data && o.data.crisis === true)));
  const crisis = raw.crisis === true || flagged(raw.metadata) || flagged(raw.custom) || flagged(raw.data);
  if (!text && !buttons.length && !crisis) return null; // images, cards...: not used by this bot
  return { text, buttons, crisis };
}

export class Transport {
  constructor({ serverUrl, socketPath = '/socket.io', mode = 'auto', senderId, onMessage, onState, onDelivered, getOutbox }) {
    this.serverUrl = serverUrl.replace(/\/+$/, '');
    this.socketPath = socketPath;
    this.mode = mode; // 'auto' | 'socketio' | 'rest'
    this.senderId = senderId;
    this.onMessage = onMessage;
    this.onState = onState;
    this.onDelivered = onDelivered;
    this.getOutbox = getOutbox;
    this.state = 'connecting';
    this.socket = null;
    this.confirmed = false;
    this.restOk = false;
    this.everConnected = false;
    this.flushing = false;
    this.probeTimer = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    if (this.mode !== 'rest') this._openSocket();
    if (this.mode === 'rest') this._probeLoop();
    else this.probeTimer = setTimeout(() => this._probeLoop(), 4000); // socket.io slow or blocked: try REST
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.probeTimer);
    if (this.socket) {
      this.socket.removeAllListeners();
      this.socket.io.removeAllListeners();
      this.socket.disconnect();
      this.socket = null;
    }
    this.confirmed = false;
  }

  /** Begin a new conversation under a new sender id. */
  restart(senderId) {
    this.stop();
    this.senderId = senderId;
    this.restOk = false;
    this._setState('connecting');
    this.start();
  }

  get usable() {
    return this.confirmed || this.restOk;
  }

  _setState(state) {
    const key = `${state}/${this.confirmed ? 'socketio' : this.restOk ? 'rest' : ''}`;
    if (this._stateKey === key) return;
    this._stateKey = key;
    this.state = state;
    this.onState(state);
  }

  _openSocket() {
    const socket = io(this.serverUrl, {
      path: this.socketPath,
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.3,
      timeout: 8000,
    });
    this.socket = socket;
    socket.on('connect', () => {
      socket.emit('session_request', { session_id: this.senderId });
    });
    socket.on('session_confirm', (id) => {
      // Rasa echoes our id; if it ever replaces it (no id sent), adopt the server's.
      if (typeof id === 'string' && id && id !== this.senderId && !this.senderId) this.senderId = id;
      this.confirmed = true;
      this.everConnected = true;
      this._setState('online');
      this.flush();
    });
    socket.on('bot_uttered', (msg) => this._receive(msg));
    socket.on('disconnect', (reason) => {
      this.confirmed = false;
      if (this.stopped) return;
      if (reason === 'io server disconnect') socket.connect(); // the server hung up: dial again
      this.restOk = false;
      this._setState('reconnecting');
      this._scheduleProbe(1000);
    });
    socket.on('connect_error', () => {
      if (this.stopped) return;
      if (this.everConnected && !this.restOk) this._setState('reconnecting');
    });
  }

  _scheduleProbe(delay) {
    clearTimeout(this.probeTimer);
    if (this.mode === 'socketio' || this.stopped) return;
    this.probeTimer = setTimeout(() => this._probeLoop(), delay);
  }

  async _probeLoop() {
    if (this.stopped || this.confirmed) return;
    await this._probeRest();
    // While socket.io is down keep probing: fast while REST is down too, slowly while REST works,
    // so the status line does not claim "online" long after the server went away.
    if (!this.confirmed) this._scheduleProbe(this.restOk ? PROBE_EVERY_MS * 3 : PROBE_EVERY_MS);
  }

  async _probeRest() {
    if (this.mode === 'socketio') return false;
    try {
      const res = await fetch(this.serverUrl + REST_HEALTH, { method: 'GET', mode: 'cors', credentials: 'omit', cache: 'no-store' });
      if (!res.ok) throw new Error(String(res.status));
      this._restUp();
      return true;
    } catch {
      this._restDown();
      return false;
    }
  }

  _restUp() {
    const was = this.restOk;
    this.restOk = true;
    this._setState('online');
    if (!was) this.flush();
  }

  _restDown() {
    this.restOk = false;
    if (this.confirmed) return;
    this._setState('reconnecting');
    this._scheduleProbe(PROBE_EVERY_MS);
  }

  _receive(raw) {
    const msg = normalizeBotMessage(raw);
    if (msg) this.onMessage(msg);
  }

  /** Try to deliver everything in the outbox, oldest first, one at a time. */
  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const next = this.getOutbox()[0];
        if (!next || this.stopped) break;
        const ok = await this._deliver(next);
        if (!ok) break;
        if (ok === true) this.onDelivered(next.id); // REST marks its own delivery ('handled')
      }
    } finally {
      this.flushing = false;
    }
  }

  async _deliver(item) {
    if (this.confirmed && this.socket && this.socket.connected) {
      this.socket.emit('user_uttered', { message: item.message, session_id: this.senderId });
      return true;
    }
    if (this.mode === 'socketio') return false;
    let res;
    const ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = ctrl && setTimeout(() => ctrl.abort(), REST_TIMEOUT_MS);
    try {
      res = await fetch(this.serverUrl + REST_PATH, {
        method: 'POST',
        mode: 'cors',
        credentials: 'omit',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ sender: this.senderId, message: item.message }),
        signal: ctrl ? ctrl.signal : undefined,
      });
    } catch {
      this._restDown();
      return false;
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (!res.ok) {
      this._restDown();
      return false;
    }
    let body = [];
    try {
      body = await res.json();
    } catch {
      body = [];
    }
    if (!this.restOk) {
      this.restOk = true;
      this._setState('online');
    }
    // Mark the item delivered before rendering replies, so a reload in between cannot resend it.
    this.onDelivered(item.id);
    if (Array.isArray(body)) for (const m of body) this._receive(m);
    return 'handled';
  }
}
