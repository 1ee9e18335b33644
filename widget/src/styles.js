// Styles live in the shadow root, so the host page's CSS cannot reach inside. The theme is set with
// CSS custom properties on the element (they inherit through the shadow boundary), e.g.
//   ketamine-faq-chat { --kfc-primary: #5b2a86; --kfc-font: "Lato", sans-serif; }
export const CSS = `
:host {
  all: initial;
  --_primary: var(--kfc-primary, #0b5563);
  --_on-primary: var(--kfc-on-primary, #ffffff);
  --_bg: var(--kfc-background, #ffffff);
  --_text: var(--kfc-text, #1b2429);
  --_muted: var(--kfc-muted, #4f5b62);
  --_bot-bg: var(--kfc-bot-bubble, #eef2f4);
  --_user-bg: var(--kfc-user-bubble, var(--_primary));
  --_on-user: var(--kfc-on-user-bubble, var(--_on-primary));
  --_link: var(--kfc-link, #0a4b8f);
  --_focus: var(--kfc-focus, #1d4ed8);
  --_crisis: var(--kfc-crisis, #9b1c1c);
  --_crisis-bg: var(--kfc-crisis-background, #fdf0f0);
  --_radius: var(--kfc-radius, 14px);
  --_z: var(--kfc-z-index, 2147483000);
}
/* Typography is declared on the inner wrapper, not inherited from the host element: a page rule
   such as "* { font-family: X !important }" matches the host but never reaches in here. */
.root {
  font-family: var(--kfc-font, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif);
  font-size: 15px;
  line-height: 1.45;
  color: var(--_text);
  text-align: left;
  letter-spacing: normal;
  word-spacing: normal;
  text-transform: none;
  font-style: normal;
  font-weight: 400;
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.sr-only {
  position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
button, textarea, a { font: inherit; }
button { cursor: pointer; }
:focus { outline: none; }
:focus-visible { outline: 3px solid var(--_focus); outline-offset: 2px; }

.launcher {
  position: fixed; right: 20px; bottom: 20px; z-index: var(--_z);
  display: inline-flex; align-items: center; gap: 10px;
  min-height: 52px; padding: 0 20px 0 16px; border: 2px solid transparent; border-radius: 999px;
  background: var(--_primary); color: var(--_on-primary);
  font-weight: 600; font-size: 15px;
  box-shadow: 0 6px 24px rgba(0, 0, 0, .22);
}
.launcher:hover { filter: brightness(1.08); }
.launcher svg { width: 24px; height: 24px; flex: none; }
.badge {
  min-width: 22px; height: 22px; padding: 0 6px; border-radius: 11px;
  background: #ffffff; color: #111; font-size: 13px; font-weight: 700;
  display: inline-flex; align-items: center; justify-content: center;
}

.panel {
  position: fixed; right: 20px; bottom: 20px; z-index: var(--_z);
  width: min(400px, calc(100vw - 40px));
  height: min(640px, calc(100vh - 40px));
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--_bg); color: var(--_text);
  border-radius: var(--_radius); border: 1px solid rgba(0, 0, 0, .12);
  box-shadow: 0 12px 48px rgba(0, 0, 0, .28);
}
.panel.opening { animation: kfc-in .18s ease-out; }
@keyframes kfc-in { from { opacity: 0; transform: translateY(12px); } to { opacity: 1; transform: none; } }

.head {
  display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px;
  background: var(--_primary); color: var(--_on-primary);
}
.head .titles { flex: 1; min-width: 0; }
h2 { margin: 0; font-size: 17px; font-weight: 700; line-height: 1.25; }
.status { margin: 2px 0 0; font-size: 13px; display: flex; align-items: center; gap: 6px; }
.dot { width: 9px; height: 9px; border-radius: 50%; background: #f5c542; flex: none; }
.status[data-state="online"] .dot { background: #6ee7a0; }
.status[data-state="reconnecting"] .dot { background: #ffb020; animation: kfc-pulse 1.2s infinite; }
.head button {
  border: 1px solid rgba(255, 255, 255, .6); background: transparent; color: inherit;
  border-radius: 8px; min-height: 40px; padding: 0 10px; font-size: 14px;
}
.head button.icon { width: 40px; padding: 0; display: inline-flex; align-items: center; justify-content: center; }
.head button svg { width: 20px; height: 20px; }
.head button:hover { background: rgba(255, 255, 255, .15); }
.head :focus-visible { outline-color: var(--_on-primary); }

.disclaimer {
  margin: 0; padding: 8px 16px; font-size: 13px; line-height: 1.35;
  background: #f6f7f8; border-bottom: 1px solid #dde2e5; color: #2b3439;
}
a { color: var(--_link); text-decoration: underline; text-underline-offset: 2px; }

.crisis {
  margin: 0; padding: 12px 16px; border-bottom: 3px solid var(--_crisis);
  background: var(--_crisis-bg); color: #3d0a0a; max-height: 45%; overflow-y: auto;
}
.crisis .crisis-head { display: flex; align-items: flex-start; gap: 8px; }
.crisis p { margin: 0 0 8px; }
.crisis strong.title { display: block; flex: 1; font-size: 15px; color: var(--_crisis); }
.crisis .actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 0 0 8px; }
.crisis .actions a {
  display: inline-flex; align-items: center; min-height: 40px; padding: 0 14px; border-radius: 999px;
  background: var(--_crisis); color: #fff; font-weight: 700; text-decoration: none;
}
.crisis .actions a.secondary { background: #fff; color: var(--_crisis); border: 2px solid var(--_crisis); }
.crisis .intl { font-size: 13px; margin: 0; }
.crisis button {
  border: 1px solid var(--_crisis); background: #fff; color: var(--_crisis);
  border-radius: 8px; min-height: 32px; padding: 0 10px; font-size: 13px;
}
.crisis.compact { padding: 8px 16px; }
.crisis.compact .full { display: none; }
.crisis:not(.compact) .short { display: none; }
.crisis .short { flex: 1; margin: 0; font-weight: 700; color: var(--_crisis); }

.confirm { padding: 12px 16px; background: #fff8e6; border-bottom: 1px solid #e9d9a6; }
.confirm p { margin: 0 0 8px; }
.confirm .row { display: flex; gap: 8px; flex-wrap: wrap; }
.btn {
  min-height: 40px; padding: 0 14px; border-radius: 8px; border: 2px solid var(--_primary);
  background: #fff; color: var(--_primary); font-weight: 600;
}
.btn.primary { background: var(--_primary); color: var(--_on-primary); }

.log {
  flex: 1; min-height: 0; overflow-y: auto; overscroll-behavior: contain;
  padding: 14px 12px 6px; display: flex; flex-direction: column; gap: 10px;
}
.notice {
  margin: 0 4px 4px; padding: 10px 12px; border-radius: 10px; font-size: 13.5px;
  background: #f3f6fb; border: 1px solid #d3dcea; color: #22303c;
}
.notice strong { display: block; margin-bottom: 2px; }
.msg { display: flex; flex-direction: column; max-width: 86%; }
.msg.bot { align-self: flex-start; }
.msg.user { align-self: flex-end; align-items: flex-end; }
.bubble {
  padding: 9px 13px; border-radius: 16px; overflow-wrap: anywhere; white-space: normal;
}
.bot .bubble { background: var(--_bot-bg); color: var(--_text); border-bottom-left-radius: 4px; }
.user .bubble { background: var(--_user-bg); color: var(--_on-user); border-bottom-right-radius: 4px; white-space: pre-wrap; }
.user .bubble a { color: inherit; }
.bubble p { margin: 0; }
.bubble p + p, .bubble p + ul, .bubble p + ol, .bubble ul + p, .bubble ol + p { margin-top: 8px; }
.bubble ul, .bubble ol { margin: 4px 0 0; padding-left: 20px; }
.bubble li + li { margin-top: 2px; }
.bubble code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; background: rgba(0,0,0,.06); padding: 0 3px; border-radius: 4px; }
.msg.crisis-msg .bubble { background: var(--_crisis-bg); border: 2px solid var(--_crisis); color: #3d0a0a; }
.crisis-tag { font-size: 12px; font-weight: 700; color: var(--_crisis); text-transform: uppercase; letter-spacing: .04em; margin: 0 0 2px 4px; }
.meta { order: 2; font-size: 12px; color: var(--_muted); margin: 3px 6px 0; }
.msg.pending .bubble { opacity: .85; }
.msg.pending .meta { color: #7a4b00; }

.replies { order: 3; display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
.replies button {
  min-height: 36px; padding: 4px 12px; border-radius: 999px; text-align: left;
  border: 1.5px solid var(--_primary); background: #fff; color: var(--_primary); font-size: 14px;
}
.replies button:hover { background: #eef6f7; }

.typing { align-self: flex-start; display: inline-flex; gap: 4px; padding: 12px 14px; border-radius: 16px; background: var(--_bot-bg); }
.typing span { width: 7px; height: 7px; border-radius: 50%; background: #5d6b73; animation: kfc-bounce 1.2s infinite ease-in-out; }
.typing span:nth-child(2) { animation-delay: .15s; }
.typing span:nth-child(3) { animation-delay: .3s; }
@keyframes kfc-bounce { 0%, 60%, 100% { transform: translateY(0); opacity: .5; } 30% { transform: translateY(-4px); opacity: 1; } }
@keyframes kfc-pulse { 50% { opacity: .35; } }

.composer {
  display: flex; align-items: flex-end; gap: 8px; padding: 10px 12px 12px;
  border-top: 1px solid #dde2e5; background: var(--_bg);
}
.field { flex: 1; min-width: 0; }
textarea {
  display: block; width: 100%; resize: none; max-height: 120px; min-height: 44px;
  padding: 10px 12px; border-radius: 10px; border: 1.5px solid #6b777e;
  background: #fff; color: var(--_text); font-size: 16px; line-height: 1.35;
}
textarea::placeholder { color: #5f6b72; opacity: 1; }
textarea:focus-visible { outline: 3px solid var(--_focus); outline-offset: 1px; }
.count { font-size: 12px; color: var(--_muted); margin: 2px 2px 0; }
.send {
  flex: none; width: 44px; height: 44px; border-radius: 10px; border: 0;
  background: var(--_primary); color: var(--_on-primary); display: inline-flex; align-items: center; justify-content: center;
}
.send svg { width: 20px; height: 20px; }
.send[aria-disabled="true"] { opacity: .55; cursor: not-allowed; }

@media (max-width: 480px), (max-height: 520px) {
  .panel { inset: 0; width: 100%; height: 100%; max-height: none; border-radius: 0; border: 0; }
  @supports (height: 100dvh) { .panel { height: 100dvh; } }
  .launcher { right: 12px; bottom: 12px; }
  .msg { max-width: 92%; }
}
@media (prefers-reduced-motion: reduce) {
  .panel.opening, .typing span, .status .dot { animation: none !important; }
}
@media (forced-colors: active) {
  .launcher, .panel, .bubble, .send, .replies button, .crisis, .typing { border: 1px solid CanvasText; }
  :focus-visible { outline-color: Highlight; }
}
@media print { .launcher, .panel { display: none !important; } }
`;
