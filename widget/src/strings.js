// Every piece of text the widget shows. A clinic overrides any of them with the `strings`
// attribute (JSON), e.g. strings='{"title": "Preguntas sobre ketamina", ...}' plus lang="es".
export const DEFAULT_STRINGS = {
  title: 'Ketamine therapy questions',
  subtitle: 'Automated assistant',
  launcher: 'Questions? Chat with us',
  launcherAria: 'Open chat: {title}',
  close: 'Close chat',
  startOver: 'Start over',
  confirmStartOver: 'Erase this conversation on this device and start a new one?',
  confirmYes: 'Yes, start over',
  confirmNo: 'Cancel',
  inputLabel: 'Type your question',
  placeholder: 'Type your question…',
  send: 'Send',
  disclaimer: 'Information only, not medical advice. In a crisis call or text 988.',
  disclaimerLink: '988lifeline.org',
  disclaimerUrl: 'https://988lifeline.org/',
  notice:
    'You are chatting with an automated assistant, not a person. It gives general information, ' +
    'not medical advice. Conversations may be reviewed by clinic staff to improve the answers, so ' +
    'please do not share your name, contact details or other personal information.',
  noticeTitle: 'Before you start',
  statusConnecting: 'Connecting…',
  statusOnline: 'Online',
  statusReconnecting: 'Reconnecting…',
  reconnectingHelp: 'Connection lost. Messages you send now will be delivered when it is back.',
  announceReconnecting: 'Connection lost. Reconnecting.',
  announceOnline: 'Connected again.',
  typing: 'The assistant is typing',
  you: 'You',
  bot: 'Assistant',
  pending: 'Waiting to send…',
  conversation: 'Conversation',
  suggested: 'Suggested replies',
  charsLeft: '{n} characters left',
  newMessages: '{n} new',
  crisisTitle: 'If you are thinking about suicide or harming yourself, help is available now.',
  crisisCall: 'Call 988',
  crisisText: 'Text 988',
  crisisChat: 'Chat at 988lifeline.org',
  crisisChatUrl: 'https://988lifeline.org/chat/',
  crisisEmergency: 'In immediate danger: call 911',
  crisisIntl: 'Outside the US: Canada 9-8-8 · UK and Ireland: Samaritans 116 123 · Australia: Lifeline 13 11 14',
  crisisHide: 'Minimize',
  crisisShow: 'Show crisis help',
  crisisShort: 'Crisis help: call or text 988',
  crisisLabel: 'Important',
  opensNewTab: '(opens in a new tab)',
};

export function parseStrings(json) {
  if (!json) return { ...DEFAULT_STRINGS };
  try {
    const extra = JSON.parse(json);
    const out = { ...DEFAULT_STRINGS };
    for (const k of Object.keys(extra || {})) {
      if (typeof extra[k] === 'string' && k in DEFAULT_STRINGS) out[k] = extra[k];
    }
    return out;
  } catch {
    return { ...DEFAULT_STRINGS };
  }
}

export function fmt(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
}
