// Conversation persistence in Web Storage, so the conversation survives reloads and navigation
// within the site. Default is sessionStorage (forgotten when the tab closes: health questions on a
// shared computer should not linger); a clinic can opt into localStorage with storage="local".
const VERSION = 1;
export const MAX_MESSAGES = 200;

function pick(kind) {
  try {
    const s = kind === 'local' ? window.localStorage : window.sessionStorage;
    const probe = '__kfc_probe__';
    s.setItem(probe, probe);
    s.removeItem(probe);
    return s;
  } catch {
    return null; // storage disabled (privacy mode, sandboxed iframe): keep state in memory
  }
}

export function createStore(kind, key) {
  const backend = pick(kind);
  const memory = new Map();
  const read = () => (backend ? backend.getItem(key) : memory.get(key));
  const write = (v) => (backend ? backend.setItem(key, v) : memory.set(key, v));
  return {
    load() {
      try {
        const raw = read();
        if (!raw) return null;
        const data = JSON.parse(raw);
        return data && data.v === VERSION && typeof data.senderId === 'string' ? data : null;
      } catch {
        return null;
      }
    },
    save(state) {
      const data = { ...state, v: VERSION, messages: state.messages.slice(-MAX_MESSAGES) };
      try {
        write(JSON.stringify(data));
      } catch {
        // Quota exceeded: keep the most recent half and try once more.
        try {
          data.messages = data.messages.slice(-Math.floor(MAX_MESSAGES / 4));
          write(JSON.stringify(data));
        } catch {
          /* give up silently; the conversation still works in memory */
        }
      }
    },
    clear() {
      try {
        if (backend) backend.removeItem(key);
        else memory.delete(key);
      } catch {
        /* ignore */
      }
    },
  };
}

export function newId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID().replace(/-/g, '');
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
