// Demo-site glue: page buttons that open the chat or ask a question through the widget's public API.
document.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target.closest('[data-open-chat], [data-ask]') : null;
  if (!target) return;
  const chat = document.querySelector('ketamine-faq-chat');
  if (!chat || typeof chat.open !== 'function') return;
  if (target.hasAttribute('data-ask')) chat.send(target.getAttribute('data-ask'));
  else chat.open();
});
